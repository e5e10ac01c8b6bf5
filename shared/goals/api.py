"""HTTP routes of the goals surface (seeds 000-003)."""
from __future__ import annotations

from shared.core.errors import AlreadyApplied, Conflict
from shared.core.http import Call
from shared.core.registry import REGISTRY
from shared.goals import service
from shared.goals.models import Goal, GoalsQuery, ShowFundingGoalCreate

route = REGISTRY.route


@route("POST", "/goals", surface="goals", scope="role:creator", query=GoalsQuery, body=ShowFundingGoalCreate,
       response=Goal, status=201, summary="Open a goal; type show-funding starts a ticket pre-sale")
def create_goal(call: Call) -> Goal:
    return service.create_show_funding_goal(call.principal.user_id, call.body)


@route("GET", "/goals/{goal_id}", surface="goals", response=Goal, summary="Read a goal's state")
def get_goal(call: Call) -> Goal:
    return service.load(call.params["goal_id"])


@route("DELETE", "/goals/{goal_id}", surface="goals", scope="role:creator", response=Goal,
       summary="End an active goal early (the streamer starts the funded show now)")
def end_goal(call: Call) -> Goal:
    goal_id = call.params["goal_id"]
    service.load_owned(goal_id, call.principal.user_id)
    try:
        return service.deactivate(goal_id, triggerer=call.principal.client_id, redelivered=False)
    except AlreadyApplied:
        raise Conflict(f"goal {goal_id} has already ended", code="goal_ended") from None
