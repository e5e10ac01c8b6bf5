"""Receivers of the 1-on-1 goals (seeds 001, 003): an invitation's announcement and answer, the
viewer's window, the escrow's way out, the session's pairs and the RTC snapshots. Each runs as
one idempotent step per event, acting on the goal as stored."""
from __future__ import annotations

from shared.core.errors import Conflict
from shared.core.firestore import Txn
from shared.core.pusher import user_channel, viewer_preview_channel
from shared.core.registry import REGISTRY
from shared.core.steps import Effects
from shared.goals import exclusive, service
from shared.goals.models import (
    EXCLUSIVE,
    TRIGGER_EXCLUSIVE,
    ExclusiveGoal,
    GoalAdded,
    GoalCreated,
    GoalEnded,
    GoalIdArgs,
    TriggerExclusiveGoal,
)
from shared.goals.receivers import NOTIFIES, SCHEDULES, _quietly, on_goal, on_session
from shared.goals.signals import GOAL_ADDED, GOAL_CREATED, GOAL_ENDED
from shared.goals.tasks import CHECK_TRIGGER_EXCLUSIVE_GOAL_REFUNDABLE
from shared.livestream import sessions, sources
from shared.livestream.models import StreamAuthorized

receiver = REGISTRY.receiver


def is_invitation(event) -> bool:
    return event.cls == TRIGGER_EXCLUSIVE


def is_agreed(event) -> bool:
    return event.cls == TRIGGER_EXCLUSIVE and event.metadata.agreed is not None


def is_unagreed(event) -> bool:
    return event.cls == TRIGGER_EXCLUSIVE and event.metadata.agreed is None


def is_exclusive(event) -> bool:
    return event.cls == EXCLUSIVE


# --- goal.created ---------------------------------------------------------------------------


@receiver(GOAL_CREATED, applies=is_invitation, claim=on_session, deployed_as="bind_trigger_private_goal")
def bind_trigger_private_goal_to_session(txn: Txn, fx: Effects, event: GoalCreated) -> None:
    """The pair was written in the invitation's own step (so a viewer has one pending invitation
    per session); here the still pending invitation is announced to the streamer (goal.added)."""
    goal = exclusive.invitation(event.goal_id, txn)
    pair = sessions.load(goal.session_id, txn).exclusive_goal_pairs.get(goal.viewer)
    if not goal.active or pair is None or pair.trigger_exclusive_goal != goal.id:
        return  # answered or gone before this delivery: goal.ended tells the streamer
    fx.publish(GOAL_ADDED, GoalAdded(goal_id=goal.id, cls=goal.cls, conditions=goal.conditions, context=goal.context,
                                     session_id=goal.session_id, streamer_id=goal.owner))


@receiver(GOAL_CREATED, applies=is_exclusive, claim=on_session)
def bind_exclusive_goals_to_session(txn: Txn, fx: Effects, event: GoalCreated) -> None:
    goal = service.load(event.goal_id, txn)
    if goal.active:  # ended already (Pub/Sub keeps no order): its end cleared the pair
        goal = service.of_class(goal, ExclusiveGoal)
        sessions.bind_exclusive_goal(txn, goal.session_id, goal.viewer, goal.context.trigger_exclusive_goal_id, goal.id)


def _snapshots(at_end: bool):
    def snapshot_rtc_sources(txn: Txn, fx: Effects, event) -> None:
        """Seed 003: snapshots of the streamer's sources stop while a 1-on-1 runs, start at its end.
        Decided on the goals as stored, whatever order the two events arrive in."""
        goal = service.ended(event.goal_id, txn) if at_end else service.load(event.goal_id, txn)
        running = [g for g in service.active_goal_ids(goal.session_id, txn, cls=EXCLUSIVE) if g != goal.id]
        if at_end and running:
            return  # a later 1-on-1 runs already: its snapshots stay stopped
        if at_end or goal.active:  # a 1-on-1 that ended before its start arrived wants them running
            sources.want_snapshots(txn, fx, goal.session_id, running=at_end, because=goal.id)

    return snapshot_rtc_sources


receiver(GOAL_CREATED, applies=is_exclusive, claim=on_session, options=SCHEDULES)(_snapshots(at_end=False))
receiver(GOAL_ENDED, applies=is_exclusive, claim=on_session, options=SCHEDULES)(_snapshots(at_end=True))


# --- goal.ended of an invitation -----------------------------------------------------------


@receiver(GOAL_ENDED, applies=is_invitation, step=False)
def cleanup_expired_exclusive_goal_pairs(event: GoalEnded) -> dict:
    """Seed 001: an agreement ends the other pending invitations of the session (each refunded by
    its own goal.ended); an invitation that ended without one leaves the session's pairs."""
    goal = exclusive.invitation(event.goal_id)
    if goal.active:
        return {"skipped": "the invitation has not ended"}
    ended = 0
    if goal.agreed:
        others = sessions.pending_invitations(goal.session_id)
        ended = sum(_quietly(service.deactivate, other) for viewer, other in others.items() if other != goal.id)
    dropped = goal.agreed is None and exclusive.drop_pair(goal.id)
    return {"ended": ended, "dropped": bool(dropped)}


def agreed_invitation(goal_id: str, txn: Txn) -> tuple[TriggerExclusiveGoal, float]:
    """The invitation and when it was agreed to."""
    goal = exclusive.invitation(goal_id, txn)
    if goal.agreed is None:  # the message says agreed, the goal does not: not a real event
        raise Conflict(f"invitation {goal_id} was not agreed to", code="not_agreed")
    return goal, goal.agreed


@receiver(GOAL_ENDED, applies=is_agreed, claim=on_session)
def sync_trigger_goal_session_viewer(txn: Txn, fx: Effects, event: GoalEnded) -> None:
    """Seed 001: the agreed viewer may watch for the countdown minute plus their prepaid time
    (`session.viewers`), unless the agreement was refunded unused already."""
    goal, agreed = agreed_invitation(event.goal_id, txn)
    session = sessions.load(goal.session_id, txn)
    seconds = exclusive.WINDOW_BONUS + goal.prepaid_duration
    sessions.grant_agreed_window(txn, session, goal.viewer, goal.id, agreed, seconds)


@receiver(GOAL_ENDED, applies=is_agreed, options=NOTIFIES, deployed_as="authorize_agreed_viewer")
def notify_stream_authorized_for_agreed_trigger_goal(txn: Txn, fx: Effects, event: GoalEnded) -> None:
    goal, agreed = agreed_invitation(event.goal_id, txn)
    seconds = exclusive.WINDOW_BONUS + goal.prepaid_duration
    fx.notify([viewer_preview_channel(goal.owner, goal.viewer)], "stream.authorized", StreamAuthorized(
        session_id=goal.session_id, streamer_id=goal.owner, viewer_id=goal.viewer, nbf=agreed,
        exp=agreed + seconds, duration=seconds, exclusive=True))


@receiver(GOAL_ENDED, applies=is_agreed, claim=on_goal, options=SCHEDULES)
def trigger_exclusive_goal_escrow_refund(txn: Txn, fx: Effects, event: GoalEnded) -> None:
    """Seed 001: at `exp + grace` a check refunds the prepaid when no 1-on-1 followed."""
    goal = exclusive.invitation(event.goal_id, txn)
    if goal.settlement is None and goal.refund_due_at is not None:
        fx.schedule(CHECK_TRIGGER_EXCLUSIVE_GOAL_REFUNDABLE, GoalIdArgs(goal_id=goal.id), at=goal.refund_due_at)


@receiver(GOAL_ENDED, applies=is_unagreed, step=False, options=SCHEDULES)
def handle_trigger_private_goal_escrow(event: GoalEnded) -> str:
    """Declined, withdrawn, unanswered or superseded: the prepaid goes back at once."""
    return exclusive.refund_unagreed(event.goal_id)


# --- goal.ended of a 1-on-1 ------------------------------------------------------------------


@receiver(GOAL_ENDED, applies=is_exclusive, options=NOTIFIES, deployed_as="authorize_after_exclusive")
def notify_stream_authorized_for_ended_exclusive_goal(txn: Txn, fx: Effects, event: GoalEnded) -> None:
    """The viewer hears that the 1-on-1 is over, with what remains of their paid window."""
    goal = service.of_class(service.ended(event.goal_id, txn), ExclusiveGoal)
    window = sessions.load(goal.session_id, txn).viewers.get(goal.viewer)
    fx.notify([viewer_preview_channel(goal.owner, goal.viewer)], "stream.authorized", StreamAuthorized(
        session_id=goal.session_id, streamer_id=goal.owner, viewer_id=goal.viewer,
        nbf=window.nbf if window else None, exp=window.exp if window else None,
        duration=window.duration if window else 0, exclusive=False))


@receiver(GOAL_ENDED, applies=is_exclusive, options=NOTIFIES, deployed_as="exclusive_close_notification")
def trigger_exclusive_on_close_notification(txn: Txn, fx: Effects, event: GoalEnded) -> None:
    """The 1-on-1's viewer is told it closed (`goal.ended` on their own channel; the streamer's
    channels hear it from notify_goal_ended)."""
    goal = service.of_class(service.ended(event.goal_id, txn), ExclusiveGoal)
    fx.notify([user_channel(goal.viewer)], "goal.ended", goal.notice(goal.owner))
