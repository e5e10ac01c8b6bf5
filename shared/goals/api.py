"""HTTP routes of the goals surface (seeds 000-003)."""
from __future__ import annotations

from shared.core.errors import AlreadyApplied, Conflict
from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.goals import sales, service, shows
from shared.goals.models import GoalPublic, GoalsQuery, ShowFundingGoal, ShowFundingGoalCreate, ShowGoal, ShowGoalCreate

SURFACE = REGISTRY.surface("goals", FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=50,
                                                    secrets=("JWT_SECRET",)))
route = REGISTRY.route


@route("POST", "/goals", surface=SURFACE, scope="role:creator", query=GoalsQuery,
       body={"show-funding": ShowFundingGoalCreate, "show": ShowGoalCreate}, response=ShowFundingGoal, status=201,
       idempotent=True, summary="Open a goal: type show-funding starts a ticket pre-sale, type show starts the "
                                "show it pays for (the answer is the ShowGoal then)")
def create_goal(call: Call) -> ShowFundingGoal | ShowGoal:
    if call.query.type == "show":
        return shows.start_show(call.principal.user_id, call.principal.client_id, call.body, call.client_key)
    return service.create_show_funding_goal(call.principal.user_id, call.body, call.client_key)


@route("GET", "/goals/{goal_id}", surface=SURFACE, response=ShowFundingGoal,
       summary="Read a goal: the whole goal for its owner, its public view (GoalPublic) for anyone else")
def get_goal(call: Call) -> ShowFundingGoal | GoalPublic:
    goal = service.load(call.params["goal_id"])
    owner = goal.owner == call.principal.user_id
    if isinstance(goal, ShowFundingGoal):  # progress from the counter shards, buyers from their records
        goal = sales.with_sales(goal, buyers=owner)
    return goal if owner else goal.public()


@route("DELETE", "/goals/{goal_id}", surface=SURFACE, scope="role:creator", response=ShowFundingGoal,
       summary="End an active goal early (the streamer starts the funded show now)")
def end_goal(call: Call) -> ShowFundingGoal:
    goal_id = call.params["goal_id"]
    goal = service.load_owned(goal_id, call.principal.user_id)
    if not goal.active:  # the common refusal, without queueing for the goal's claim
        raise Conflict(f"goal {goal_id} has already ended", code="goal_ended")
    try:
        return service.deactivate(goal_id, triggerer=call.principal.client_id, redelivered=False)
    except AlreadyApplied:
        raise Conflict(f"goal {goal_id} has already ended", code="goal_ended") from None
