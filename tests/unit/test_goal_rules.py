"""The goal rules as plain code: no emulator, no clock but the one passed in."""
from __future__ import annotations

import pytest

from shared.core import ids
from shared.goals.models import (
    GOAL,
    REFUND_GRACE,
    GoalActive,
    GoalAlreadyEnded,
    GoalPublic,
    Level,
    OwnerMetadata,
    RefundDecided,
    SessionConditions,
    ShowFundingGoal,
    ShowFundingGoalContext,
)
from shared.goals.requests import ShowFundingGoalCreate
from shared.goals.rules import EARLY_TOLERANCE, arrival
from tests.support import funding_body

NOW = 1_800_000_000.0


def pre_sale(*, exp=NOW + 600, progress=0, target=10, hesitation=30, **changes) -> ShowFundingGoal:
    session_id = ids.new_id()
    return ShowFundingGoal(
        id=ids.new_id(), active=True, conditions=SessionConditions(session_id=session_id),
        levels=[{"title": "Test", "target": target}], exp=int(exp), progress=progress,
        context=ShowFundingGoalContext(perform_duration=60, session_id=session_id, hesitation_countdown=hesitation,
                                       ticket_product_id="livestream-show-ticket_134", ticket_product_type="earlybird"),
        metadata=OwnerMetadata(user_id=ids.new_id()), created_at=NOW - 60, **changes,
    )


def test_ending_a_goal_returns_the_new_state_and_its_event():
    goal = pre_sale()
    ended, event = goal.end(NOW, triggerer="app-1")
    assert goal.active is True  # the rule does not touch what it was given
    assert (ended.active, ended.exp, ended.triggerer, ended.ended_at) == (False, int(NOW), "app-1", NOW)
    assert ended.refund_due_at == int(NOW) + 30 + REFUND_GRACE
    assert (event.goal_id, event.active, event.triggerer, event.metadata.user_id) == (
        goal.id, False, "app-1", goal.owner)
    with pytest.raises(GoalAlreadyEnded):
        ended.end(NOW + 1, None)


def test_an_expired_goal_keeps_its_exp():
    goal = pre_sale(exp=NOW - 10)
    ended, _ = goal.end(NOW, None)
    assert ended.exp == int(NOW) - 10 and ended.refund_due_at == int(NOW) - 10 + 30 + REFUND_GRACE


@pytest.mark.parametrize("progress, show_goal, decision", [
    (0, None, "refund"), (10, None, "keep"), (11, None, "keep"), (3, "681088cb95684fc0c6496546", "keep"),
])
def test_refund_decisions(progress, show_goal, decision):
    ended, _ = pre_sale(progress=progress).end(NOW, None)
    decided, refund = ended.decide_refund(show_goal, NOW + 40)
    assert refund.decision == decision and refund.escrow_id == f"show_funding:{ended.id}"
    assert decided.refund == refund and ended.refund is None
    with pytest.raises(RefundDecided):
        decided.decide_refund(None, NOW + 41)


def test_an_active_goal_has_no_refund_decision():
    with pytest.raises(GoalActive):
        pre_sale().decide_refund(None, NOW)


def test_early_tasks_wait_or_reschedule():
    assert arrival(None, NOW).action == "run"
    assert arrival(NOW - 1, NOW).action == "run"
    waiting = arrival(NOW + EARLY_TOLERANCE / 2, NOW)
    assert waiting.action == "wait" and waiting.seconds == pytest.approx(EARLY_TOLERANCE / 2)
    later = arrival(NOW + 3600, NOW)
    assert later.action == "reschedule" and later.at == NOW + 3600


def test_documents_are_typed_per_goal_class():
    goal = pre_sale()
    stored = {**goal.model_dump(mode="json", by_alias=True)}
    assert stored["_cls"] == "ShowFundingGoal" and stored["context"]["type"] == "show-funding"
    assert GOAL.validate_python(stored) == goal
    with pytest.raises(ValueError):
        GOAL.validate_python({**stored, "_cls": "KaraokeGoal"})
    with pytest.raises(ValueError):
        GOAL.validate_python({**stored, "context": {**stored["context"], "type": "karaoke"}})


def test_the_public_view_leaves_out_the_owner_only_fields():
    goal, _ = pre_sale().end(NOW, triggerer="app-1")
    public = goal.public().model_dump(by_alias=True)
    assert set(public) == set(GoalPublic.model_fields) - {"cls"} | {"_cls"}
    assert "triggerer" not in public and "refund" not in public and "breakdown" not in public


@pytest.mark.parametrize("bad", [True, "10", 10.0])
def test_money_and_counts_are_strict(bad):
    body = funding_body(ids.new_id(), int(NOW))
    body["levels"][0]["target"] = bad
    with pytest.raises(ValueError):
        ShowFundingGoalCreate.model_validate(body)


def test_a_goal_with_the_largest_titles_makes_small_notices():
    from shared.core import pusher

    goal = pre_sale().model_copy(update={"levels": [Level(title="票" * 100, target=10)] * 20})
    ended, _ = goal.end(NOW, "app-1")
    assert len(pusher.encode(ended.notice(goal.owner).model_dump(mode="json", by_alias=True))) < 1024
