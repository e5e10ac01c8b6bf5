"""Cloud Tasks handlers of the goals feature. Each re-checks state before acting."""
from __future__ import annotations

import time

from shared.core import clock, tasks
from shared.core.errors import NotFound
from shared.core.registry import REGISTRY
from shared.goals import service
from shared.goals.models import DeactivateGoalArgs, GoalIdArgs

task = REGISTRY.task
EARLY_TOLERANCE = 2  # seconds a task may arrive before exp and still end the goal on time


@task("deactivate_goal", queue="goal-lifecycle", args=DeactivateGoalArgs)
def deactivate_goal(args: DeactivateGoalArgs) -> str:
    try:
        goal = service.load(args.goal_id)
    except NotFound:
        return "goal not found"
    early = (goal.exp - clock.now()) if goal.active and args.reason == "expired" and goal.exp else 0
    if early > EARLY_TOLERANCE:
        # arrived early (schedules are capped at 29 days ahead): come back at exp
        again = args.model_copy(update={"round": args.round + 1})  # a new name: the old one is taken
        tasks.schedule("deactivate_goal", again.model_dump(), at=goal.exp)
        return "rescheduled"
    if early > 0:
        time.sleep(early)  # close enough: wait here rather than a round trip through the queue
    service.deactivate(args.goal_id)  # on a repeat: AlreadyApplied, answered by delivery.run_task
    return "ended"


@task("check_funding_goal_refundable", queue="goal-lifecycle", args=GoalIdArgs)
def check_funding_goal_refundable(args: GoalIdArgs) -> str:
    return service.decide_funding_refund(args.goal_id).decision
