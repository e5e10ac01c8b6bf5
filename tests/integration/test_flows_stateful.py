"""Random sequences over the whole money flow of a session against the running stack: ticket
purchases and repeats, the pre-sale's end, show starts and ends, refund decisions; 1-on-1
invitations, answers, withdrawals, exclusive goals started and ended, checks for unused
agreements, paid minutes; session ends; diamond packs bought through the shop and the local
So-net gateway (paid or declined) and refunds; paid posts unlocked, again and again; while the
stack's receivers and tasks react in the background. After every step: no wallet below zero, no
hold both refunded and paid out, a resolved hold has its resolving transfer, the pre-sale's
progress, its buyers' records and the purchases agree, at most one viewer has the 1-on-1, an
invitation is paid out only for a 1-on-1 that started, a post is paid for once per viewer who
unlocked it, and every diamond provisioned is in a wallet, an escrow, the streamer's earnings or
the platform's share, plus what the shop credited less what its refunds took back, read in one
consistent snapshot.

CI runs FLOW_EXAMPLES (200) sequences; more:
    FLOW_EXAMPLES=5000 ./emulators.sh test tests/integration/test_flows_stateful.py
"""
from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from shared.core import auth, ids, steps
from shared.core.errors import AlreadyApplied, AppError
from shared.core.firestore import db, document, run_transaction, where
from shared.gifts import service as gifts
from shared.gifts.models import GiftRequest
from shared.goals import exclusive, shows
from shared.goals import service as goals
from shared.goals.requests import ExclusiveGoalCreate, ShowFundingGoalCreate, ShowGoalCreate, TriggerExclusiveGoalCreate
from shared.ledger import book
from shared.ledger import service as ledger
from shared.ledger.models import earnings, escrow, wallet
from shared.livestream import pay as stream_pay
from shared.livestream import sessions
from shared.livestream.models import PayRequest
from shared.posts import service as posts
from shared.posts.models import Post, UnlockRequest
from shared.shop import fulfilment
from tests.shop_support import Payer
from tests.support import Api, User, funding_body

pytestmark = pytest.mark.stack
OWN_STACK = True  # the sequences leave live sessions and pre-sales expiring 10 minutes later (tests/conftest.py)
EXAMPLES = int(os.environ.get("FLOW_EXAMPLES", "200"))
TICKET = "livestream-show-ticket_134"


def refused(call, *args, **kwargs):
    """Run a step; a refusal (a rule said no, or the step was applied already) is an outcome too."""
    try:
        return call(*args, **kwargs)
    except (AppError, AlreadyApplied):
        return None


class FlowMachine(RuleBasedStateMachine):
    @initialize(tickets_needed=st.integers(1, 4), diamonds=st.integers(80, 400), price=st.integers(1, 120))
    def start(self, tickets_needed, diamonds, price):
        self.streamer = ids.new_id()
        self.session = sessions.start(self.streamer, "show")
        body = funding_body(self.session.id, int(time.time()) + 600, target=tickets_needed, hesitation=1)
        body["context"]["perform_duration"] = 1
        self.goal = goals.create_show_funding_goal(self.streamer, ShowFundingGoalCreate.model_validate(body))
        self.viewers = [ids.new_id() for _ in range(2)]
        for viewer in self.viewers:
            ledger.provision(viewer, diamonds)
        self.bought = 0
        self.keys: list[tuple[str, steps.ClientKey]] = []
        self.show = None
        self.provisioned = diamonds * len(self.viewers)
        self.invitations: dict[str, list[str]] = {v: [] for v in self.viewers}  # goal ids, latest last
        self.exclusive = None
        self.orders: list[str] = []
        # a paid post of the streamer's, ready (its encoding is another test's): unlocks move diamonds
        self.post = Post(id=ids.new_id(), user_id=self.streamer, assets=[ids.new_id()], caption={"text": "x"},
                         pricing={"kind": "paid"}, cost=[{"_cls": "Diamond", "amount": price}], status="ready",
                         status_transitions={"created": time.time()}, nbf=time.time())
        posts.post_ref(self.post.id).set(document(self.post))
        self.unlocked: set[str] = set()

    @rule(n=st.integers(0, 1), quantity=st.integers(1, 3))
    def buy(self, n, quantity):
        key = steps.ClientKey(step_key=f"idempotency:test:{ids.new_id()}", request_hash="h", status=201)
        request = GiftRequest(product_id=TICKET, quantity=quantity, goal_id=self.goal.id)
        if refused(gifts.send, self.viewers[n], self.session.id, request, key) is not None:
            self.bought += quantity
            self.keys.append((self.viewers[n], key, request))

    @rule()
    def buy_again_under_the_same_key(self):
        if self.keys:
            viewer, key, request = self.keys[-1]
            with pytest.raises(AlreadyApplied):  # the HTTP layer replays the stored answer
                gifts.send(viewer, self.session.id, request, key)

    @rule()
    def end_the_pre_sale(self):
        refused(goals.deactivate, self.goal.id, "test", redelivered=False)

    @rule()
    def start_the_show(self):
        request = ShowGoalCreate.model_validate(
            {"context": {"session_id": self.session.id, "funding_goal_id": self.goal.id}})
        self.show = refused(shows.start_show, self.streamer, "test", request) or self.show

    @rule()
    def end_the_show(self):
        if self.show is not None:
            refused(goals.deactivate, self.show.id, "test", redelivered=False)

    @rule()
    def decide_the_refund(self):
        refused(goals.decide_funding_refund, self.goal.id)

    @rule()
    def end_the_session(self):
        refused(sessions.end, self.streamer, self.session.id)

    # --- 1-on-1s ---------------------------------------------------------------------------------

    @rule(n=st.integers(0, 1), prepaid=st.sampled_from([60, 150]))
    def invite(self, n, prepaid):
        request = TriggerExclusiveGoalCreate.model_validate(
            {"context": {"session_id": self.session.id, "prepaid_duration": prepaid}})
        goal = refused(exclusive.invite, self.viewers[n], request)
        if goal is not None:
            self.invitations[self.viewers[n]].append(goal.id)

    @rule(n=st.integers(0, 1), agree=st.booleans())
    def answer_the_invitation(self, n, agree):
        if self.invitations[self.viewers[n]]:
            refused(exclusive.answer, self.invitations[self.viewers[n]][-1], self.streamer, agree, "test")

    @rule(n=st.integers(0, 1))
    def withdraw_the_invitation(self, n):
        if self.invitations[self.viewers[n]]:
            refused(exclusive.withdraw, self.invitations[self.viewers[n]][-1], self.viewers[n], "test")

    @rule(n=st.integers(0, 1))
    def start_the_one_on_one(self, n):
        if self.invitations[self.viewers[n]]:
            request = ExclusiveGoalCreate.model_validate({"context": {
                "session_id": self.session.id, "trigger_exclusive_goal_id": self.invitations[self.viewers[n]][-1]}})
            self.exclusive = refused(exclusive.start_exclusive, self.streamer, request) or self.exclusive

    @rule()
    def end_the_one_on_one(self):
        if self.exclusive is not None:
            refused(goals.deactivate, self.exclusive.id, "test", redelivered=False)

    @rule(n=st.integers(0, 1))
    def check_for_an_unused_agreement(self, n):
        if self.invitations[self.viewers[n]]:
            refused(exclusive.decide_unused_refund, self.invitations[self.viewers[n]][-1])

    @rule(n=st.integers(0, 1), seconds=st.sampled_from([1, 45, 120]))
    def pay_for_minutes(self, n, seconds):
        refused(stream_pay.pay, self.viewers[n], self.streamer, PayRequest(duration=seconds))

    # --- the shop -------------------------------------------------------------------------------

    @rule(n=st.integers(0, 1), choice=st.sampled_from(["pay", "decline"]))
    def buy_diamonds(self, n, choice):
        viewer = self.viewers[n]
        payer = Payer(Api(os.environ["API_URL"]), User(viewer, auth.mint(viewer, []), "local-cli"))
        checkout = payer.checkout()
        self.orders.append(checkout["order"]["id"])
        payer.pay(checkout["pay_url"], choice)  # fulfilment follows in the background

    @rule()
    def refund_an_order(self):
        if self.orders:
            order_id = self.orders[-1]
            refused(steps.run, f"refund_order:{order_id}", lambda txn, fx: fulfilment.refund(txn, order_id),
                    redelivered=False)

    # --- posts ------------------------------------------------------------------------------------

    @rule(n=st.integers(0, 1))
    def unlock_the_post(self, n):
        if refused(posts.unlock, self.viewers[n], self.post.id, UnlockRequest(cost="Diamond")) is not None:
            self.unlocked.add(self.viewers[n])

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def a_post_is_paid_for_once_per_viewer(self):
        if not hasattr(self, "post"):
            return
        price = self.post.cost[0].amount
        for viewer in self.viewers:
            moved = [book.transfer_ref(f"unlock:{self.post.id}:{viewer}{part}").get() for part in ("", ":fee")]
            paid = sum(snap.get("amount") for snap in moved if snap.exists)  # to the creator, and the share
            assert paid == (price if viewer in self.unlocked else 0), (viewer, paid)
            assert posts.unlock_ref(self.post.id, viewer).get().exists == (viewer in self.unlocked)

    @invariant()
    def one_one_on_one_at_a_time(self):
        if hasattr(self, "session"):
            assert len(sessions.load(self.session.id).status.exclusive_to) <= 1

    @invariant()
    def invitations_pay_out_only_for_a_one_on_one(self):
        if not hasattr(self, "invitations"):
            return
        for goal_id in (g for ids_ in self.invitations.values() for g in ids_):
            goal = goals.load(goal_id)
            if goal.settlement and goal.settlement.outcome == "payout":
                assert goal.context.exclusive_goal_id and goal.agreed, goal
            if goal.context.exclusive_goal_id:
                assert goal.settlement and goal.settlement.outcome == "payout", goal

    @invariant()
    def every_diamond_is_accounted_for(self):
        """Wallets + escrows + the streamer's earnings + the platform's share = what was provisioned,
        in one read-only snapshot (the stack keeps moving money meanwhile)."""
        if not hasattr(self, "invitations"):
            return
        escrows = [f"show_funding:{self.goal.id}"] + [
            f"trigger_exclusive:{g}" for ids_ in self.invitations.values() for g in ids_]

        def snapshot(txn):
            held = sum(ledger.balance(escrow(e), txn) for e in escrows)
            wallets = sum(ledger.balance(wallet(v), txn) for v in self.viewers)
            earned = ledger.balance(earnings(self.streamer), txn)
            fees = 0
            for viewer in self.viewers:
                for snap in where(book.TRANSFERS, ("parties", "array_contains", viewer)).stream(transaction=txn):
                    transfer = snap.to_dict()
                    if transfer["credit"] == "revenue:platform:diamond":
                        fees += transfer["amount"]  # a paid minute's share
            for e in escrows:
                for snap in where(book.TRANSFERS, debit=escrow(e).id, credit="revenue:platform:diamond").stream(
                        transaction=txn):
                    fees += snap.get("amount")  # a hold's share, taken when it was paid out
            shop = 0  # the shop's credits from issuance, less what refunds took back
            for order_id in self.orders:
                for transfer_id, sign in ((f"order:{order_id}", 1), (f"refund:{order_id}", -1)):
                    snap = book.transfer_ref(transfer_id).get(transaction=txn)
                    shop += sign * (snap.get("amount") if snap.exists else 0)
            return wallets + held + earned + fees - shop

        assert run_transaction(snapshot) == self.provisioned

    @invariant()
    def no_wallet_below_zero(self):
        if hasattr(self, "viewers"):
            assert all(ledger.balance(wallet(v)) >= 0 for v in self.viewers)

    @invariant()
    def holds_resolve_once(self):
        if not hasattr(self, "goal"):
            return
        escrows = [f"show_funding:{self.goal.id}"] + [
            f"trigger_exclusive:{g}" for ids_ in self.invitations.values() for g in ids_]
        holds = [s.to_dict() for e in escrows for s in where(book.TRANSFERS, credit=escrow(e).id, hold=True).stream()]
        for hold in holds:
            void, post = (book.transfer_ref(f"{hold['id']}:{a}").get().exists for a in ("void", "post"))
            assert not (void and post), hold
            assert hold["state"] == "pending" or {"voided": void, "posted": post}[hold["state"]], hold

    @invariant()
    def progress_buyers_and_purchases_agree(self):
        if not hasattr(self, "goal"):
            return
        buyers = sum(s.get("tickets") or 0 for s in db().collection("goals").document(self.goal.id)
                     .collection(goals.BUYERS).stream())
        assert goals.tickets_sold(self.goal.id) == buyers == self.bought


FlowMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=8, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_random_flows_keep_the_invariants(stack):
    FlowMachine.TestCase().runTest()
