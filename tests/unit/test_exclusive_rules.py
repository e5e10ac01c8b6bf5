"""The 1-on-1 rules as plain code: prices, a viewer's window, and an invitation's answer, binding
and refund, with the clock passed in."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.core import ids
from shared.core.errors import ValidationFailed
from shared.goals.models import (
    GOAL,
    ExclusiveNotAllowed,
    GoalActive,
    GoalAlreadyEnded,
    OwnerMetadata,
    SessionConditions,
    TriggerExclusiveContext,
    TriggerExclusiveGoal,
)
from shared.livestream.models import DEFAULT_PRICES, Session, Statuses, ViewerWindow

NOW = 1_800_000_000.0
GRACE = 65


def session(**prices) -> Session:
    return Session(id=ids.new_id(), user_id=ids.new_id(), active=True, statuses=Statuses(created=NOW),
                   prices={**DEFAULT_PRICES, **prices})


def invitation(**changes) -> TriggerExclusiveGoal:
    viewer, session_id = ids.new_id(), ids.new_id()
    return TriggerExclusiveGoal(
        id=ids.new_id(), active=True, levels=[], exp=int(NOW) + 120, created_at=NOW, prepaid=60,
        conditions=SessionConditions(session_id=session_id, exclusive_to=viewer),
        context=TriggerExclusiveContext(exclusive_to=viewer),
        metadata=OwnerMetadata(user_id=ids.new_id(), prepaid_duration=120), **changes)


@pytest.mark.parametrize("per_minute, seconds, amount", [
    (30, 60, 30), (30, 120, 60), (45, 30, 23), (45, 1, 1), (1, 59, 1), (60, 90, 90), (7, 3600, 420)])
def test_a_price_is_pro_rata_rounded_up(per_minute, seconds, amount):
    assert session(sd=per_minute).get_price("sd", seconds) == amount


@given(per_minute=st.integers(1, 1_000_000), seconds=st.integers(1, 24 * 3600))
def test_a_viewer_never_pays_a_whole_diamond_over_the_exact_amount(per_minute, seconds):
    exact = per_minute * seconds / 60
    amount = session(sd=per_minute).get_price("sd", seconds)
    assert exact <= amount < exact + 1 and amount == math.ceil(per_minute * seconds / 60)


def test_a_preset_the_session_lacks_is_a_clear_error():
    with pytest.raises(ValidationFailed) as refused:
        session().get_price("hd", 60)
    assert refused.value.details[0]["type"] == "unknown_preset"
    assert session().prices == {"sd": 30}


def test_a_window_keeps_nbf_adds_duration_and_moves_exp():
    first = ViewerWindow.extend(None, NOW, 180)
    assert first == ViewerWindow(nbf=NOW, duration=180, exp=NOW + 180)
    running = ViewerWindow.extend(first, NOW + 60, 60)  # paid while it runs: exp moves on from the old exp
    assert running == ViewerWindow(nbf=NOW, duration=240, exp=NOW + 240)
    lapsed = ViewerWindow.extend(running, NOW + 1000, 30)  # after it lapsed: from now
    assert lapsed == ViewerWindow(nbf=NOW, duration=270, exp=NOW + 1030)


def test_agreeing_stamps_the_agreement_and_the_refund_check():
    goal = invitation()
    agreed, event = goal.answer(True, NOW + 10, "app-1", GRACE)
    assert (agreed.active, agreed.progress, agreed.agreed, agreed.exp) == (False, 1, NOW + 10, int(NOW) + 10)
    assert agreed.refund_due_at == int(NOW) + 10 + GRACE and agreed.settlement is None
    assert event.metadata.agreed == NOW + 10 and event.triggerer == "app-1"
    with pytest.raises(GoalAlreadyEnded):
        agreed.answer(False, NOW + 11, "app-1", GRACE)


def test_declining_leaves_no_agreement():
    declined, event = invitation().answer(False, NOW + 10, "app-1", GRACE)
    assert declined.agreed is None and declined.refund_due_at == NOW + 10 and event.metadata.agreed is None
    assert declined.progress == 0 and "agreed" not in event.model_dump()["metadata"]


def test_a_one_on_one_binds_only_to_an_agreement_within_the_grace():
    with pytest.raises(ExclusiveNotAllowed):
        invitation().bind_exclusive("e" * 24, NOW)  # not answered
    declined, _ = invitation().answer(False, NOW, "app-1", GRACE)
    with pytest.raises(ExclusiveNotAllowed):
        declined.bind_exclusive("e" * 24, NOW)
    agreed, _ = invitation().answer(True, NOW, "app-1", GRACE)
    bound = agreed.bind_exclusive("e" * 24, NOW + GRACE - 1)
    assert bound.context.exclusive_goal_id == "e" * 24 and not bound.unused_refund_due(NOW + GRACE)
    with pytest.raises(ExclusiveNotAllowed):
        bound.bind_exclusive("f" * 24, NOW + 1)  # one 1-on-1 per invitation
    with pytest.raises(ExclusiveNotAllowed):
        agreed.bind_exclusive("e" * 24, NOW + GRACE)  # the grace is over
    settled, _ = agreed.settle("refund", "unused", NOW + 1)
    with pytest.raises(ExclusiveNotAllowed):
        settled.bind_exclusive("e" * 24, NOW + 2)  # refunded already


def test_an_unused_agreement_is_refunded_once_due_and_an_active_invitation_is_not_decided():
    agreed, _ = invitation().answer(True, NOW, "app-1", GRACE)
    assert agreed.unused_refund_due(NOW + GRACE)
    with pytest.raises(GoalActive):
        agreed.unused_refund_due(NOW + GRACE - 1)  # the streamer may still start the 1-on-1
    with pytest.raises(GoalActive):
        invitation().unused_refund_due(NOW)
    declined, _ = invitation().answer(False, NOW, "app-1", GRACE)
    assert declined.unused_refund_due(NOW)  # the tick's backstop refunds it like its own receiver


def test_an_answer_after_exp_is_refused():
    goal = invitation()
    with pytest.raises(GoalAlreadyEnded) as late:
        goal.answer(True, goal.exp + 1, "app-1", GRACE)
    assert late.value.code == "invitation_expired"


def test_a_refunded_agreement_takes_its_window_back():
    granted = ViewerWindow.extend(None, NOW, 180)
    assert granted.shorten(180) is None
    paid_more = ViewerWindow.extend(granted, NOW + 10, 60)
    assert paid_more.shorten(180) == ViewerWindow(nbf=NOW, duration=60, exp=NOW + 60)


def test_an_invitation_round_trips_as_its_class_with_its_escrow():
    goal = invitation()
    stored = GOAL.validate_python(goal.model_dump(by_alias=True))
    assert isinstance(stored, TriggerExclusiveGoal) and stored == goal
    assert goal.escrow_id == f"trigger_exclusive:{goal.id}" and goal.viewer == goal.context.exclusive_to
