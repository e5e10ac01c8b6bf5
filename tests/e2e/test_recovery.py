"""What a lost delivery leaves undone is made good by the maintenance tick (the stack's ticker
runs every 2 s in tests, with STEPS_SWEEP_AFTER=3)."""
from __future__ import annotations

import time

import pytest

from shared.core import firestore, ids
from shared.goals import service
from shared.goals.models import REFUND_GRACE, Level, ShowFundingGoal
from tests.support import start_session, wait_until

pytestmark = pytest.mark.stack


def stranded_goal(session_id: str, streamer_id: str, *, active: bool, progress: int = 0) -> ShowFundingGoal:
    """A goal as a dead-lettered task or receiver leaves it: past exp, nothing scheduled for it."""
    now = time.time()
    goal = ShowFundingGoal(
        id=ids.new_id(), active=active, conditions={"session_id": session_id},
        levels=[Level(title="Test", target=10)], exp=int(now) - 60, progress=progress,
        context={"type": "show-funding", "session_id": session_id, "hesitation_countdown": 0, "perform_duration": 60,
                 "ticket_product_id": "livestream-show-ticket_134", "ticket_product_type": "earlybird"},
        metadata={"user_id": streamer_id}, created_at=now - 120, ended_at=None if active else now - 60,
        refund_due_at=None if active else int(now) - 60 + REFUND_GRACE,
    )
    service.goal_ref(goal.id).set(firestore.document(goal))
    if progress:  # tickets are counted in the goal's counter shards
        service.goal_ref(goal.id).collection(service.PROGRESS).document("0").set({"tickets": progress})
    return goal


def test_an_active_goal_past_exp_is_ended_and_its_refund_decided(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    sock = pusher_socket(f"private-stream@{streamer.id}")
    goal = stranded_goal(session["id"], streamer.id, active=True)
    sock.wait_for("goal.ended", where=lambda d: d.get("goal_id") == goal.id, timeout=30)
    decided = wait_until(lambda: service.load(goal.id).refund, timeout=30, what="refund decision")
    assert decided.decision == "refund"
    assert service.load(goal.id).active is False


def test_an_ended_pre_sale_without_a_decision_gets_one(api, streamer):
    session = start_session(api, streamer)
    goal = stranded_goal(session["id"], streamer.id, active=False)
    decided = wait_until(lambda: service.load(goal.id).refund, timeout=30, what="refund decision")
    assert decided.decision == "refund" and decided.escrow_id == f"show_funding:{goal.id}"


def test_a_pre_sale_that_met_its_target_is_kept(api, streamer):
    session = start_session(api, streamer)
    goal = stranded_goal(session["id"], streamer.id, active=True, progress=10)
    decided = wait_until(lambda: service.load(goal.id).refund, timeout=30, what="refund decision")
    assert decided.decision == "keep" and decided.reason == "the pre-sale reached its target"
