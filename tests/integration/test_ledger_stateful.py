"""Random sequences of provisioning, payments, holds, repeats, voids and posts, in two currencies,
against the Firestore emulator: after every step the ledger agrees with a plain model of it, no
wallet is below zero, every hold is resolved at most once, nothing moves between currencies (a
payment or a payout across two is refused and changes nothing), and per currency the accounts
the sequence touched sum to zero with that currency's issuance and revenue.

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
from shared.ledger.models import Account, HoldResolved, InsufficientFunds, earnings, escrow, issuance, wallet

pytestmark = pytest.mark.stack
OWN_STACK = True  # thousands of transfers, which every later query of the ledger would scan (tests/conftest.py)
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "200"))
FEE_PERCENT = 30
CURRENCIES = ("diamond", "point")  # two are enough to show they never mix


def execute(*ops):
    return run_transaction(lambda txn: book.execute(txn, list(ops)))


def other(currency: str) -> str:
    return next(c for c in CURRENCIES if c != currency)


class LedgerMachine(RuleBasedStateMachine):
    users = Bundle("users")
    moves = Bundle("moves")  # transfers and holds made, to repeat
    holds = Bundle("holds")

    @initialize()
    def start(self):
        escrow_id, revenue_owner = f"show_funding:{ids.new_id()}", f"test-{ids.new_id()}"  # this sequence's own
        self.escrow = {c: escrow(escrow_id, c) for c in CURRENCIES}
        self.revenue = {c: Account(kind="revenue", owner=revenue_owner, currency=c) for c in CURRENCIES}
        self.streamer = ids.new_id()
        self.currency_of: dict[str, str] = {}  # each user's wallet is in one currency
        self.model = {"wallets": {}, **{name: dict.fromkeys(CURRENCIES, 0)
                                        for name in ("escrow", "earnings", "revenue", "issued")}}
        self.hold_state: dict[str, str] = {}
        self.issued_before = {c: service.balance(issuance(c)) for c in CURRENCIES}

    def wallet_of(self, user: str):
        return wallet(user, self.currency_of[user])

    @rule(target=users, amount=st.integers(50, 300), currency=st.sampled_from(CURRENCIES))
    def provision(self, amount, currency):
        user = ids.new_id()
        service.provision(user, amount, currency=currency)
        self.currency_of[user] = currency
        self.model["wallets"][user] = amount
        self.model["issued"][currency] += amount
        return user

    @rule(target=moves, payer=users, payee=users, amount=st.integers(1, 120))
    def pay(self, payer, payee, amount):
        if self.currency_of[payer] != self.currency_of[payee]:
            with pytest.raises(ValueError, match="mixes"):  # refused before it reaches a transaction
                book.Move(f"test-pay:{ids.new_id()}", self.wallet_of(payer), self.wallet_of(payee), amount)
            return multiple()
        move = book.Move(f"test-pay:{ids.new_id()}", self.wallet_of(payer), self.wallet_of(payee), amount)
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
        currency = self.currency_of[buyer]
        move = book.Move(f"test-hold:{ids.new_id()}", self.wallet_of(buyer), self.escrow[currency], amount, hold=True)
        if self.model["wallets"][buyer] < amount:
            with pytest.raises(InsufficientFunds):
                execute(move)
            return multiple()
        execute(move)
        self.model["wallets"][buyer] -= amount
        self.model["escrow"][currency] += amount
        self.hold_state[move.id] = "pending"
        return move

    @rule(move=st.one_of(moves, holds))
    def repeat(self, move):
        (again,) = execute(move)  # a repeat returns the first result and changes nothing
        assert again.id == move.id and again.amount == move.amount and again.currency == move.credit.currency

    @rule(move=holds, action=st.sampled_from(["void", "post"]))
    def resolve(self, move, action):
        currency = move.credit.currency
        fee = move.amount * FEE_PERCENT // 100
        op = book.Resolve(move.id, action, to=earnings(self.streamer, currency), fee=fee,
                          fee_to=self.revenue[currency]) if action == "post" else book.Resolve(move.id, "void")
        state = self.hold_state[move.id]
        done = {"void": "voided", "post": "posted"}[action]
        if state not in ("pending", done):  # resolved the other way: never both
            with pytest.raises(HoldResolved):
                execute(op)
            return
        execute(op)
        if state == "pending":
            self.hold_state[move.id] = done
            self.model["escrow"][currency] -= move.amount
            if action == "void":
                self.model["wallets"][move.debit.owner] += move.amount
            else:
                self.model["earnings"][currency] += move.amount - fee
                self.model["revenue"][currency] += fee

    @rule(move=holds)
    def post_in_another_currency(self, move):
        """A hold posted to earnings and revenue of the other currency: refused while pending; once
        posted, the repeat answers the first payout, in the hold's currency. Nothing changes."""
        wrong = other(move.credit.currency)
        op = book.Resolve(move.id, "post", to=earnings(self.streamer, wrong), fee=move.amount * FEE_PERCENT // 100,
                          fee_to=self.revenue[wrong])
        state = self.hold_state[move.id]
        if state == "posted":
            (first,) = execute(op)
            assert first.credit == earnings(self.streamer, move.credit.currency).id
            return
        with pytest.raises(ValueError if state == "pending" else HoldResolved):
            execute(op)

    @invariant()
    def the_ledger_agrees_with_the_model(self):
        if not hasattr(self, "model"):
            return
        wallets = {user: service.balance(self.wallet_of(user)) for user in self.model["wallets"]}
        assert wallets == self.model["wallets"] and min(wallets.values(), default=0) >= 0
        for currency in CURRENCIES:
            assert service.balance(self.escrow[currency]) == self.model["escrow"][currency] >= 0
            assert service.balance(earnings(self.streamer, currency)) == self.model["earnings"][currency]
            assert service.balance(self.revenue[currency]) == self.model["revenue"][currency]
        # a user's wallet in the currency they were not provisioned in stays untouched
        assert all(service.balance(wallet(user, other(c))) == 0 for user, c in self.currency_of.items())

    @precondition(lambda self: hasattr(self, "model"))
    @invariant()
    def each_currency_s_touched_accounts_sum_to_zero(self):
        for currency in CURRENCIES:
            issued = service.balance(issuance(currency)) - self.issued_before[currency]
            assert issued == -self.model["issued"][currency]
            touched = [*(wallet(u, c) for u, c in self.currency_of.items() if c == currency), self.escrow[currency],
                       earnings(self.streamer, currency), self.revenue[currency]]
            assert sum(service.balance(account) for account in touched) + issued == 0, currency


LedgerMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=8, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture
def ledger_machine(stack):
    return LedgerMachine.TestCase


def test_random_sequences_keep_the_ledger_invariants(ledger_machine):
    ledger_machine().runTest()
