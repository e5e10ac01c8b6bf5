"""Random sequences over the whole ticket flow against the running stack: purchases, repeated
purchases, the pre-sale's end, show starts and ends, refund decisions, session ends and repeated
deliveries of those steps, while the stack's receivers and tasks react in the background. After
every step: no wallet below zero, no hold both refunded and paid out, a resolved hold has its
resolving transfer, and the pre-sale's progress, its buyers' records and the purchases agree.

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

from shared.core import ids, steps
from shared.core.errors import AlreadyApplied, AppError
from shared.core.firestore import db, where
from shared.gifts import service as gifts
from shared.gifts.models import GiftRequest
from shared.goals import service as goals
from shared.goals import shows
from shared.goals.models import ShowFundingGoalCreate, ShowGoalCreate
from shared.ledger import book
from shared.ledger import service as ledger
from shared.ledger.models import wallet
from shared.livestream import sessions
from tests.support import funding_body

pytestmark = pytest.mark.stack
EXAMPLES = int(os.environ.get("FLOW_EXAMPLES", "200"))
TICKET = "livestream-show-ticket_134"


def refused(call, *args, **kwargs):
    """Run a step; a refusal (a rule said no, or the step was applied already) is an outcome too."""
    try:
        return call(*args, **kwargs)
    except (AppError, AlreadyApplied):
        return None


class FlowMachine(RuleBasedStateMachine):
    @initialize(tickets_needed=st.integers(1, 4), diamonds=st.integers(80, 400))
    def start(self, tickets_needed, diamonds):
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
        request = ShowGoalCreate.model_validate({"context": {"session_id": self.session.id, "funding_goal_id": self.goal.id}})
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

    @invariant()
    def no_wallet_below_zero(self):
        if hasattr(self, "viewers"):
            assert all(ledger.balance(wallet(v)) >= 0 for v in self.viewers)

    @invariant()
    def holds_resolve_once(self):
        if not hasattr(self, "goal"):
            return
        for snap in where(book.TRANSFERS, credit=f"escrow:show_funding:{self.goal.id}:diamond", hold=True).stream():
            hold = snap.to_dict()
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
    max_examples=EXAMPLES, stateful_step_count=6, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_random_flows_keep_the_invariants(stack):
    FlowMachine.TestCase().runTest()
