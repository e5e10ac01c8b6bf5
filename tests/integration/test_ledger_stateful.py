"""Random sequences of provisioning, payments, holds, repeats, voids and posts against the
Firestore emulator: after every step the ledger agrees with a plain model of it, no wallet is
below zero, every hold is resolved at most once, and the accounts the sequence touched sum to
zero with issuance and revenue.

CI runs HYPOTHESIS_EXAMPLES (200) sequences; more:
    HYPOTHESIS_EXAMPLES=5000 ./emulators.sh test tests/integration/test_ledger_stateful.py
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule

from shared.core import ids
from shared.core.firestore import run_transaction
from shared.ledger import book, service
from shared.ledger.models import ISSUANCE, Account, HoldResolved, InsufficientFunds, earnings, escrow, wallet

pytestmark = pytest.mark.stack
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "200"))
FEE_PERCENT = 30


def execute(*ops):
    return run_transaction(lambda txn: book.execute(txn, list(ops)))


class LedgerMachine(RuleBasedStateMachine):
    users = Bundle("users")
    moves = Bundle("moves")  # transfers and holds made, to repeat
    holds = Bundle("holds")

    @initialize()
    def start(self):
        self.escrow = escrow(f"show_funding:{ids.new_id()}")
        self.streamer = ids.new_id()
        self.model = {"wallets": {}, "escrow": 0, "earnings": 0, "revenue": 0, "issued": 0}
        self.hold_state: dict[str, str] = {}
        self.revenue = Account(kind="revenue", owner=f"test-{ids.new_id()}")  # this sequence's own
        self.issued_before = service.balance(ISSUANCE)

    @rule(target=users, amount=st.integers(50, 300))
    def provision(self, amount):
        user = ids.new_id()
        service.provision(user, amount)
        self.model["wallets"][user] = amount
        self.model["issued"] += amount
        return user

    @rule(target=moves, payer=users, payee=users, amount=st.integers(1, 120))
    def pay(self, payer, payee, amount):
        move = book.Move(f"test-pay:{ids.new_id()}", wallet(payer), wallet(payee), amount)
        if self.model["wallets"][payer] < amount:
            with pytest.raises(InsufficientFunds):
                execute(move)
            return multiple()  # refused: nothing to repeat
        execute(move)
        self.model["wallets"][payer] -= amount
        self.model["wallets"][payee] += amount
        return move

    @rule(target=holds, buyer=users, amount=st.integers(1, 120))
    def hold(self, buyer, amount):
        move = book.Move(f"test-hold:{ids.new_id()}", wallet(buyer), self.escrow, amount, hold=True)
        if self.model["wallets"][buyer] < amount:
            with pytest.raises(InsufficientFunds):
                execute(move)
            return multiple()
        execute(move)
        self.model["wallets"][buyer] -= amount
        self.model["escrow"] += amount
        self.hold_state[move.id] = "pending"
        return move

    @rule(move=st.one_of(moves, holds))
    def repeat(self, move):
        (again,) = execute(move)  # a repeat returns the first result and changes nothing
        assert again.id == move.id and again.amount == move.amount

    @rule(move=holds, action=st.sampled_from(["void", "post"]))
    def resolve(self, move, action):
        fee = move.amount * FEE_PERCENT // 100
        op = book.Resolve(move.id, action, to=earnings(self.streamer), fee=fee, fee_to=self.revenue) \
            if action == "post" else book.Resolve(move.id, "void")
        state = self.hold_state[move.id]
        done = {"void": "voided", "post": "posted"}[action]
        if state not in ("pending", done):  # resolved the other way: never both
            with pytest.raises(HoldResolved):
                execute(op)
            return
        execute(op)
        if state == "pending":
            self.hold_state[move.id] = done
            self.model["escrow"] -= move.amount
            if action == "void":
                self.model["wallets"][move.debit.owner] += move.amount
            else:
                self.model["earnings"] += move.amount - fee
                self.model["revenue"] += fee

    @invariant()
    def the_ledger_agrees_with_the_model(self):
        if not hasattr(self, "model"):
            return
        wallets = {user: service.balance(wallet(user)) for user in self.model["wallets"]}
        assert wallets == self.model["wallets"] and min(wallets.values(), default=0) >= 0
        assert service.balance(self.escrow) == self.model["escrow"] >= 0
        assert service.balance(earnings(self.streamer)) == self.model["earnings"]
        assert service.balance(self.revenue) == self.model["revenue"]

    @precondition(lambda self: hasattr(self, "model"))
    @invariant()
    def the_touched_accounts_sum_to_zero(self):
        issuance = service.balance(ISSUANCE) - self.issued_before
        assert issuance == -self.model["issued"]
        touched = [*(wallet(u) for u in self.model["wallets"]), self.escrow, earnings(self.streamer), self.revenue]
        assert sum(service.balance(account) for account in touched) + issuance == 0


LedgerMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=8, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture
def ledger_machine(stack):
    return LedgerMachine.TestCase


def test_random_sequences_keep_the_ledger_invariants(ledger_machine):
    ledger_machine().runTest()
