"""Receivers of the goal signals (seeds 000 and 002). Each runs as one idempotent step per event:
`body(txn, fx, event)` reads and writes through `txn` and records side effects on `fx`."""
from __future__ import annotations

from shared.analytics import AnalyticsEvent
from shared.core import clock
from shared.core.registry import REGISTRY
from shared.goals.models import SHOW_FUNDING, GoalAdded, GoalCreated, GoalEnded, GoalIdArgs, DeactivateGoalArgs
from shared.livestream import sessions
from shared.livestream.models import ShowGoalPair
from shared.realtime.pusher import stream_channels

receiver = REGISTRY.receiver
REFUND_GRACE = 5  # seconds after the hesitation countdown before the refund check runs (seed 000)


def is_show_funding(event) -> bool:
    return event.cls == SHOW_FUNDING


@receiver("goal.created", applies=is_show_funding)
def bind_show_goals_to_session(txn, fx, event: GoalCreated) -> None:
    session = sessions.load(event.conditions["session_id"], txn)
    if session.pair_for(event.goal_id):
        return
    pairs = [*session.show_goal_pairs, ShowGoalPair(funding_goal=event.goal_id)]
    txn.update(sessions.session_ref(session.id), {"show_goal_pairs": [p.model_dump() for p in pairs]})
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
    if event.target_met:  # 募票成功: the pre-sale reached its target, nothing to refund
        return
    at = event.exp + event.context.get("hesitation_countdown", 0) + REFUND_GRACE
    fx.schedule("check_funding_goal_refundable", GoalIdArgs(goal_id=event.goal_id), at=at)
