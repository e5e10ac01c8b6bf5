"""Receivers of the goal and session signals (seeds 000 and 002). Each runs as one idempotent step
per event: `body(txn, fx, event)` reads and writes through `txn` and records effects on `fx`.

A message only says which goal to look at: receivers act on the goal as stored, and refuse
(without leaving a marker, so the real event still counts) one whose state contradicts it.
"""
from __future__ import annotations

import logging
import time

from shared.core import clock
from shared.core.config import settings
from shared.core.delivery import settle
from shared.core.errors import AlreadyApplied, AppError, Conflict
from shared.core.firestore import Txn
from shared.core.options import FunctionOptions
from shared.core.pusher import stream_channels
from shared.core.registry import REGISTRY
from shared.core.steps import Effects
from shared.goals import exclusive, karaoke, service, shows
from shared.goals.models import (
    EXCLUSIVE,
    SHOW,
    SHOW_FUNDING,
    TRIGGER_EXCLUSIVE,
    DeactivateGoalArgs,
    ExclusiveGoal,
    Goal,
    GoalAdded,
    GoalCreated,
    GoalEnded,
    GoalIdArgs,
    ShowFundingGoal,
    ShowGoal,
    TriggerExclusiveGoal,
)
from shared.goals.signals import GOAL_ADDED, GOAL_CREATED, GOAL_ENDED
from shared.goals.tasks import CHECK_FUNDING_GOAL_REFUNDABLE, DEACTIVATE_GOAL
from shared.livestream import sessions
from shared.livestream.models import SessionEnded
from shared.livestream.signals import SESSION_ENDED
from shared.maintenance import TICK

log = logging.getLogger(__name__)
receiver = REGISTRY.receiver
RECONCILE_BUDGET = 40  # seconds one tick spends reconciling (the receiver's timeout is 60)
SCHEDULES = FunctionOptions(secrets=("TASK_SECRET",))  # receivers that schedule tasks sign them
NOTIFIES = FunctionOptions(secrets=("PUSHER_SECRET",))
NOTIFIES_AND_SCHEDULES = FunctionOptions(secrets=("PUSHER_SECRET", "TASK_SECRET"))


def is_show_funding(event) -> bool:
    return event.cls == SHOW_FUNDING


def on_session(event) -> str:
    return f"session:{event.conditions.session_id}"


def on_goal(event) -> str:
    return f"goal:{event.goal_id}"


@receiver(GOAL_CREATED, applies=is_show_funding, claim=on_session)
def bind_show_goals_to_session(txn: Txn, fx: Effects, event: GoalCreated) -> None:
    goal = service.load(event.goal_id, txn)
    # Pub/Sub does not keep order: the goal may have ended before this delivery arrived, and then
    # set_embedded_goal_ended found no pair to stamp
    session = sessions.bind_funding_goal(txn, goal.session_id, goal.id, None if goal.active else goal.ended_at)
    if session is None or not goal.active:
        return  # clients were told goal.ended already: a late goal.added would confuse them
    fx.publish(GOAL_ADDED, GoalAdded(goal_id=goal.id, cls=goal.cls, conditions=goal.conditions, context=goal.context,
                                     session_id=session.id, streamer_id=session.user_id))


@receiver(GOAL_CREATED, applies=lambda event: event.exp is not None, options=SCHEDULES)
def schedule_lifecycle_tasks(txn: Txn, fx: Effects, event: GoalCreated) -> None:
    goal = service.load(event.goal_id, txn)
    if goal.active and goal.exp is not None:
        fx.schedule(DEACTIVATE_GOAL, DeactivateGoalArgs(goal_id=goal.id), at=goal.exp)


@receiver(GOAL_ADDED, options=NOTIFIES)
def trigger_notify_goal_added(txn: Txn, fx: Effects, event: GoalAdded) -> None:
    goal = service.load(event.goal_id, txn)
    if (goal.session_id, goal.owner) != (event.session_id, event.streamer_id):
        raise Conflict(f"goal {goal.id} is not in session {event.session_id}", code="goal_not_in_session")
    if not goal.active:  # clients heard goal.ended already: a late goal.added would confuse them
        raise Conflict(f"goal {goal.id} has ended", code="goal_ended")
    fx.notify(stream_channels(goal.owner), "goal.added", goal.notice(goal.owner))


@receiver(GOAL_ENDED, applies=lambda event: event.cls in (SHOW_FUNDING, TRIGGER_EXCLUSIVE, EXCLUSIVE), claim=on_session)
def set_embedded_goal_ended(txn: Txn, fx: Effects, event: GoalEnded) -> None:
    """The session's pair learns the goal ended: a pre-sale's end, an invitation's answer (seed
    001), or the end of a 1-on-1, which clears the pair and `status.exclusive_to`."""
    goal = service.ended(event.goal_id, txn)
    if isinstance(goal, TriggerExclusiveGoal):
        sessions.stamp_invitation_ended(txn, goal.session_id, goal.viewer, goal.id, _ended_at(goal), goal.agreed)
    elif isinstance(goal, ExclusiveGoal):
        sessions.exclusive_ended(txn, goal.session_id, goal.viewer, goal.context.trigger_exclusive_goal_id, goal.id)
    else:
        sessions.stamp_funding_ended(txn, goal.session_id, goal.id, _ended_at(goal))


def _ended_at(goal: Goal) -> float:
    """When a goal that ended ended (`service.ended` returns only those)."""
    assert goal.ended_at is not None, "every end of a goal stamps its ended_at"
    return goal.ended_at


@receiver(GOAL_ENDED, options=NOTIFIES)
def notify_goal_ended(txn: Txn, fx: Effects, event: GoalEnded) -> None:
    goal = service.ended(event.goal_id, txn)
    fx.notify(stream_channels(goal.owner), "goal.ended", goal.notice(goal.owner))


def on_escrow(event) -> str:
    """A pre-sale's escrow is claimed through the pre-sale, also when its show ends."""
    return f"goal:{event.context.funding_goal_id}" if event.cls == SHOW else f"goal:{event.goal_id}"


@receiver(GOAL_CREATED, applies=lambda event: event.cls == SHOW, claim=on_session)
def bind_show_goal_to_funding_goal(txn: Txn, fx: Effects, event: GoalCreated) -> None:
    """The pre-sale already names its show (bound in the show's own step); the session's pair too."""
    show = service.of_class(service.load(event.goal_id, txn), ShowGoal)
    sessions.bind_show_goal(txn, show.session_id, show.context.funding_goal_id, show.id)


@receiver(GOAL_ENDED, applies=lambda event: event.cls in (SHOW_FUNDING, SHOW), claim=on_escrow,
          options=NOTIFIES_AND_SCHEDULES)
def trigger_show_escrow_refund(txn: Txn, fx: Effects, event: GoalEnded) -> None:
    stored = service.ended(event.goal_id, txn)
    if isinstance(stored, ShowGoal):
        shows.settle_show(txn, fx, stored)
        return
    stored = service.of_class(stored, ShowFundingGoal)
    goal = service.with_final_progress(stored, txn)
    if goal.refund:
        return
    if goal.target_met:  # 募票成功: the pre-sale reached its target, the escrow is kept for the show
        service.keep_funded_escrow(txn, fx, stored, goal)
        return
    assert goal.refund_due_at is not None, "a pre-sale's end sets when its refund check runs"
    fx.schedule(CHECK_FUNDING_GOAL_REFUNDABLE, GoalIdArgs(goal_id=goal.id), at=goal.refund_due_at)


@receiver(SESSION_ENDED, step=False, options=NOTIFIES_AND_SCHEDULES)
def end_session_goals(event: SessionEnded) -> dict | str:
    """Goals still active in a session that ended end now (each its own idempotent step)."""
    if sessions.load(event.session_id).active:  # session.ended is only published once it ended
        raise Conflict(f"session {event.session_id} has not ended", code="session_active")
    ended = sum(_quietly(service.deactivate, goal_id) for goal_id in service.active_goal_ids(event.session_id))
    # pre-sales that met their target earlier and kept their escrow for a show that never came
    refunded = sum(_quietly(shows.refund_unshown, goal_id) for goal_id in shows.unshown_pre_sales(event.session_id))
    return {"ended": ended, "refunded": refunded}


@receiver(TICK, step=False, options=NOTIFIES_AND_SCHEDULES)  # refunds schedule tasks; a karaoke queue notifies
def reconcile_goals(tick) -> dict:
    """Make good what a lost delivery left undone: a goal still active past its exp (its
    deactivate_goal task was dropped), a pre-sale with no refund decision past its check time
    (trigger_show_escrow_refund or the check was dead-lettered), an agreed invitation whose check
    for an unused agreement was lost, an ended karaoke goal whose settling and queue step were lost.
    All go through the same idempotent steps as the normal path, after the normal path had
    `sweep_after` s to act."""
    late, started = clock.now() - settings().sweep_after, time.monotonic()
    counts = {}
    for name, overdue, step in (("ended", _overdue_goals, service.deactivate),
                                ("decided", service.overdue_refund_checks, service.decide_funding_refund),
                                ("unused", exclusive.overdue_unused_checks, exclusive.decide_unused_refund),
                                ("karaoke", karaoke.overdue_unsettled, karaoke.reconcile)):
        counts[name] = 0
        for goal in overdue(late):
            if time.monotonic() - started > RECONCILE_BUDGET:
                return {**counts, "unfinished": name}  # the next tick carries on
            try:  # one goal that fails must not hold up the others, nor the refund checks
                counts[name] += _quietly(step, goal.id)
            except Exception:
                log.exception("%s of goal %s failed; the next tick tries again", step.__name__, goal.id)
    return counts


def _overdue_goals(before: float):
    for goal in service.overdue_active_goals(before):
        if isinstance(goal, ExclusiveGoal) and exclusive.paid_until(goal) >= before:
            continue  # its viewer paid for more: its deactivate task was rescheduled for then
        yield goal


def _quietly(step, goal_id: str) -> int:
    try:
        step(goal_id)
        return 1
    except AlreadyApplied:  # the normal path got there first
        return 0
    except AppError as exc:
        settle(exc, f"{step.__name__} of goal {goal_id}")
        return 0
