"""What a lost delivery leaves undone is made good by the maintenance tick (the stack's ticker
runs every 2 s in tests, with STEPS_SWEEP_AFTER=3)."""
from __future__ import annotations

import pytest

from shared.goals import service
from tests.e2e.helpers import stranded_goal
from tests.support import start_session, wait_until

pytestmark = pytest.mark.stack


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
