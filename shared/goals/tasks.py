"""Cloud Tasks of the goals feature. Each handler re-checks the goal's state before acting."""
from __future__ import annotations

import time

from shared.core import clock, tasks
from shared.core.options import QueueOptions
from shared.core.registry import REGISTRY
from shared.goals import exclusive, service
from shared.goals.models import DeactivateGoalArgs, ExclusiveGoal, GoalIdArgs, ShowFundingGoal
from shared.goals.rules import arrival

REGISTRY.queue("goal-lifecycle", QueueOptions(max_dispatches_per_second=50, max_concurrent_dispatches=50))
DEACTIVATE_GOAL = REGISTRY.task("deactivate_goal", queue="goal-lifecycle", args=DeactivateGoalArgs)
CHECK_FUNDING_GOAL_REFUNDABLE = REGISTRY.task("check_funding_goal_refundable", queue="goal-lifecycle", args=GoalIdArgs)
CHECK_TRIGGER_EXCLUSIVE_GOAL_REFUNDABLE = REGISTRY.task("check_trigger_exclusive_goal_refundable",
                                                        queue="goal-lifecycle", args=GoalIdArgs)


def _arrive(task, args, due: float | None) -> str | None:
    """Wait for or reschedule a task that came early; None when it should run now."""
    timing = arrival(due, clock.now())
    if timing.action == "reschedule":  # a new round: the old task name is taken
        assert timing.at is not None, "arrival() reschedules only a task with a due time, for then"
        tasks.schedule(task, args.model_copy(update={"round": args.round + 1}), at=timing.at)
        return "rescheduled"
    if timing.action == "wait":  # close enough: wait here rather than a round trip through the queue
        time.sleep(timing.seconds)
    return None


@DEACTIVATE_GOAL.handles
def deactivate_goal(args: DeactivateGoalArgs) -> str:
    goal = service.load(args.goal_id)  # gone: a NotFound, which is not retried
    due = goal.exp if goal.active and args.reason == "expired" else None
    if due is not None and isinstance(goal, ExclusiveGoal):  # its viewer may have paid for more since
        due = exclusive.paid_until(goal)
    early = _arrive(DEACTIVATE_GOAL, args, due)
    if early:
        return early
    service.deactivate(args.goal_id)  # ended already: a repeat or a conflict, neither retried
    return "ended"


@CHECK_FUNDING_GOAL_REFUNDABLE.handles
def check_funding_goal_refundable(args: GoalIdArgs) -> str:
    goal = service.of_class(service.load(args.goal_id), ShowFundingGoal)  # scheduled for pre-sales only
    early = _arrive(CHECK_FUNDING_GOAL_REFUNDABLE, args, None if goal.refund else goal.refund_due_at)
    if early:
        return early
    return service.decide_funding_refund(args.goal_id).decision


@CHECK_TRIGGER_EXCLUSIVE_GOAL_REFUNDABLE.handles
def check_trigger_exclusive_goal_refundable(args: GoalIdArgs) -> str:
    goal = exclusive.invitation(args.goal_id)
    early = _arrive(CHECK_TRIGGER_EXCLUSIVE_GOAL_REFUNDABLE, args, None if goal.settlement else goal.refund_due_at)
    if early:
        return early
    return exclusive.decide_unused_refund(args.goal_id)
