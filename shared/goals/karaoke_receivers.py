"""Receivers of karaoke goals (seed 004): the announcement on the stream channels, the escrow's way
out, and the queue moving on. Each runs as one idempotent step per event, acting on the goal as
stored. `goal.ended` on the stream channels comes from notify_goal_ended (receivers.py), the
deactivate_goal task of a running goal from schedule_lifecycle_tasks or the queue's step."""
from __future__ import annotations

from shared.core.errors import Conflict
from shared.core.firestore import Txn
from shared.core.registry import REGISTRY
from shared.core.steps import Effects
from shared.goals import karaoke
from shared.goals.models import KARAOKE, GoalAdded, GoalCreated, GoalEnded
from shared.goals.receivers import NOTIFIES_AND_SCHEDULES, SCHEDULES, on_goal
from shared.goals.signals import GOAL_ADDED, GOAL_CREATED, GOAL_ENDED

receiver = REGISTRY.receiver


def is_karaoke(event) -> bool:
    return event.cls == KARAOKE


def on_queue(event) -> str:
    return karaoke.claim(event.conditions.session_id)


def ended_karaoke(goal_id: str, txn: Txn):
    goal = karaoke.karaoke_goal(goal_id, txn)
    if goal.active:  # goal.ended is only published after the goal ended: this one is not real
        raise Conflict(f"goal {goal_id} has not ended", code="goal_active")
    return goal


@receiver(GOAL_CREATED, applies=is_karaoke)
def bind_karaoke_goal_to_session(txn: Txn, fx: Effects, event: GoalCreated) -> None:
    """The goal joined its session's queue in the gift's own step; here the still active goal is
    announced (goal.added: running or queued, as `started_at` says)."""
    goal = karaoke.karaoke_goal(event.goal_id, txn)
    if not goal.active:
        return  # ended before this delivery: goal.ended tells the clients
    fx.publish(GOAL_ADDED, GoalAdded(goal_id=goal.id, cls=goal.cls, conditions=goal.conditions, context=goal.context,
                                     session_id=goal.session_id, streamer_id=goal.owner))


@receiver(GOAL_ENDED, applies=is_karaoke, claim=on_goal, options=SCHEDULES)
def settle_karaoke_escrow(txn: Txn, fx: Effects, event: GoalEnded) -> str:
    """Performed (its duration passed, or marked done): paid to the streamer less the platform's
    share; skipped, or cut short by the session's end: refunded to its sender."""
    return karaoke.settle_ended(txn, fx, ended_karaoke(event.goal_id, txn))


@receiver(GOAL_ENDED, applies=is_karaoke, claim=on_queue, options=NOTIFIES_AND_SCHEDULES)
def advance_karaoke_queue(txn: Txn, fx: Effects, event: GoalEnded) -> str | None:
    """The ended goal leaves the queue; when it was running, the next one starts (`karaoke.started`)."""
    return karaoke.start_next(txn, fx, ended_karaoke(event.goal_id, txn))
