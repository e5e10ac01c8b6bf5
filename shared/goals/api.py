"""HTTP routes of the goals surface (seeds 000-003)."""
from __future__ import annotations

from shared.core.errors import AlreadyApplied, Conflict, NotFound, field_error
from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.goals import exclusive, sales, service, shows
from shared.goals.models import ShowFundingGoal, TriggerExclusiveGoal
from shared.goals.requests import (
    ExclusiveGoalCreate,
    GoalEnd,
    GoalsQuery,
    ShowFundingGoalCreate,
    ShowGoalCreate,
    TriggerExclusiveGoalCreate,
)

SURFACE = REGISTRY.surface("goals", FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=50,
                                                    secrets=("JWT_SECRET", "TASK_SECRET")))  # a 1-on-1 pays out
route = REGISTRY.route
CREATOR = "role:creator"


def _parties(goal_id: str) -> set[str]:
    """Who may end a goal: its streamer; an invitation's viewer may withdraw it too."""
    goal = service.load(goal_id)
    return {goal.owner} | ({goal.viewer} if isinstance(goal, TriggerExclusiveGoal) else set())


GOAL = REGISTRY.owner("goal", "goal_id", _parties)


@route("POST", "/goals", surface=SURFACE, query=GoalsQuery, response=ShowFundingGoal, status=201, idempotent=True,
       scope={"show-funding": CREATOR, "show": CREATOR, "exclusive": CREATOR, "trigger-exclusive": None},
       body={"show-funding": ShowFundingGoalCreate, "show": ShowGoalCreate,
             "trigger-exclusive": TriggerExclusiveGoalCreate, "exclusive": ExclusiveGoalCreate},
       summary="Open a goal. A streamer (role:creator): show-funding starts a ticket pre-sale, show the show it "
               "pays for, exclusive the 1-on-1 after agreeing to an invitation. A viewer: trigger-exclusive invites "
               "the streamer to a 1-on-1, its prepaid minutes held in escrow. The answer is the goal created.")
def create_goal(call: Call):
    principal = call.caller
    kind, user, client = call.query.type, principal.user_id, principal.client_id
    if kind == "trigger-exclusive":
        return exclusive.invite(user, call.body, call.client_key)
    if kind == "show":
        return shows.start_show(user, client, call.body, call.client_key)
    if kind == "exclusive":
        return exclusive.start_exclusive(user, call.body, call.client_key)
    return service.create_show_funding_goal(user, call.body, call.client_key)


@route("GET", "/goals/{goal_id}", surface=SURFACE, response=ShowFundingGoal,
       summary="Read a goal: the whole goal for its owner and a 1-on-1's viewer, its public view "
               "(GoalPublic) for anyone else; a 1-on-1 or its invitation is not found by anyone else")
def get_goal(call: Call):
    goal = service.load(call.params["goal_id"])
    user = call.caller.user_id
    owner = goal.owner == user
    if isinstance(goal, ShowFundingGoal):  # progress from the counter shards, buyers from their records
        goal = sales.with_sales(goal, buyers=owner)
    if owner or (goal.viewer is not None and goal.viewer == user):
        return goal
    if goal.viewer is not None:  # who invites whom to a 1-on-1 is theirs alone
        raise NotFound(f"goal {goal.id} not found", code="goal_not_found")
    return goal.public()


@route("DELETE", "/goals/{goal_id}", surface=SURFACE, owner=GOAL, body=GoalEnd, body_optional=True,
       response=ShowFundingGoal,
       summary="End an active goal early. An invitation: its streamer answers with {\"agree\": true|false}, its "
               "viewer may withdraw it (no body)")
def end_goal(call: Call):
    principal = call.caller
    goal_id, user, agree = call.params["goal_id"], principal.user_id, call.body.agree
    goal = service.load(goal_id)
    if isinstance(goal, TriggerExclusiveGoal) and goal.viewer == user:
        if agree is not None:
            raise field_error(["body", "agree"], "the streamer answers an invitation; its viewer may only withdraw it")
        return _ending(goal_id, lambda: exclusive.withdraw(goal_id, user, principal.client_id))
    principal.require(CREATOR)
    goal = service.load_owned(goal_id, user)
    if not goal.active:  # the common refusal, without queueing for the goal's claim
        raise Conflict(f"goal {goal_id} has already ended", code="goal_ended")
    if isinstance(goal, TriggerExclusiveGoal):
        if agree is None:
            raise field_error(["body", "agree"], "answer the invitation with agree: true or false")
        return _ending(goal_id, lambda: exclusive.answer(goal_id, user, agree, principal.client_id))
    if agree is not None:
        raise field_error(["body", "agree"], "only an invitation to a 1-on-1 is answered")
    return _ending(goal_id, lambda: service.deactivate(goal_id, triggerer=principal.client_id, redelivered=False))


def _ending(goal_id: str, end):
    try:
        return end()
    except AlreadyApplied:
        raise Conflict(f"goal {goal_id} has already ended", code="goal_ended") from None
