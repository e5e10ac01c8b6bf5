"""Receivers of the goal signals (seeds 000 and 002). Each runs as one idempotent step per event:
`body(txn, fx, event)` reads and writes through `txn` and records side effects on `fx`."""
from __future__ import annotations

from shared.analytics import AnalyticsEvent
from shared.core import clock
from shared.core.config import settings
from shared.core.errors import AlreadyApplied
from shared.core.registry import REGISTRY
from shared.goals import service
from shared.goals.models import (
    SHOW_FUNDING,
    DeactivateGoalArgs,
    GoalAdded,
    GoalCreated,
    GoalEnded,
    GoalIdArgs,
)
from shared.livestream import sessions
from shared.livestream.models import ShowGoalPair
from shared.realtime.pusher import stream_channels

receiver = REGISTRY.receiver


def is_show_funding(event) -> bool:
    return event.cls == SHOW_FUNDING


@receiver("goal.created", applies=is_show_funding)
def bind_show_goals_to_session(txn, fx, event: GoalCreated) -> None:
    session = sessions.load(event.conditions["session_id"], txn)
    goal = service.load(event.goal_id, txn)
    if session.pair_for(event.goal_id):
        return
    # Pub/Sub does not keep order: the goal may have ended before this delivery arrived, and then
    # set_embedded_goal_ended found no pair to stamp
    pair = ShowGoalPair(funding_goal=event.goal_id, funding_ended=None if goal.active else goal.ended_at)
    pairs = [*session.show_goal_pairs, pair]
    txn.update(sessions.session_ref(session.id), {"show_goal_pairs": [p.model_dump() for p in pairs]})
    if not goal.active:
        return  # clients were told goal.ended already: a late goal.added would confuse them
    fx.publish("goal.added", GoalAdded(
        goal_id=event.goal_id, cls=event.cls, conditions=event.conditions, context=event.context,
        session_id=session.id, streamer_id=session.user_id,
    ))


@receiver("goal.created", applies=lambda event: event.exp is not None)
def schedule_lifecycle_tasks(txn, fx, event: GoalCreated) -> None:
    fx.schedule("deactivate_goal", DeactivateGoalArgs(goal_id=event.goal_id), at=event.exp)


@receiver("goal.created")
@receiver("goal.ended")
def track_goals(txn, fx, event: GoalCreated | GoalEnded) -> None:
    sender = "goal.created" if isinstance(event, GoalCreated) else "goal.ended"
    fx.publish("analytics.track", AnalyticsEvent(
        event_id=f"{sender}:{event.goal_id}", event=sender, subject_id=event.goal_id, at=clock.now(),
        properties=event.model_dump(mode="json", by_alias=True),
    ))


@receiver("goal.added")
def trigger_notify_goal_added(txn, fx, event: GoalAdded) -> None:
    fx.notify(stream_channels(event.streamer_id), "goal.added", event)


@receiver("goal.ended", applies=is_show_funding)
def set_embedded_goal_ended(txn, fx, event: GoalEnded) -> None:
    session = sessions.load(event.conditions["session_id"], txn)
    pair = session.pair_for(event.goal_id)
    if pair is None or pair.funding_ended is not None:
        return
    pair.funding_ended = clock.now()
    txn.update(sessions.session_ref(session.id), {"show_goal_pairs": [p.model_dump() for p in session.show_goal_pairs]})


@receiver("goal.ended")
def notify_goal_ended(txn, fx, event: GoalEnded) -> None:
    fx.notify(stream_channels(event.metadata["user_id"]), "goal.ended", event)


@receiver("goal.ended", applies=is_show_funding)
def trigger_show_escrow_refund(txn, fx, event: GoalEnded) -> None:
    goal = service.load(event.goal_id, txn)
    if goal.refund:
        return
    if goal.target_met:  # 募票成功: the pre-sale reached its target, the escrow is kept for the show
        service.record_refund_decision(txn, goal, "keep", "the pre-sale reached its target")
        return
    fx.schedule("check_funding_goal_refundable", GoalIdArgs(goal_id=goal.id), at=service.refund_check_due(goal))


@receiver("maintenance.tick", step=False)
def reconcile_goals(tick) -> dict:
    """Make good what a lost delivery left undone: a goal still active past its exp (its
    deactivate_goal task was dropped), a pre-sale with no refund decision past its check time
    (trigger_show_escrow_refund or the check was dead-lettered). Both go through the same
    idempotent steps as the normal path, after the normal path had `sweep_after` s to act."""
    late = clock.now() - settings().sweep_after
    ended = decided = 0
    for goal in service.active_goals():
        if goal.exp is not None and goal.exp < late:
            ended += _quietly(service.deactivate, goal.id)
    for goal in service.awaiting_refund_decision():
        if service.refund_check_due(goal) < late:
            decided += _quietly(service.decide_funding_refund, goal.id)
    return {"ended": ended, "decided": decided}


def _quietly(step, goal_id: str) -> int:
    try:
        step(goal_id)
        return 1
    except AlreadyApplied:  # the normal path got there first
        return 0
