"""Creating, reading and ending goals; the refund decision of a pre-sale that did not lead to a show."""
from __future__ import annotations

from shared.core import clock, firestore, ids, steps
from shared.core.errors import AlreadyApplied, Conflict, NotFound, field_error
from shared.core.firestore import db, increment, where
from shared.goals.models import (
    SHOW_FUNDING,
    Goal,
    GoalCreated,
    GoalEnded,
    RefundDecision,
    ShowFundingGoalCreate,
)
from shared.livestream import sessions

GOALS = "goals"
MAX_PRE_SALE = 366 * 24 * 3600
REFUND_GRACE = 5  # seconds after the hesitation countdown before the refund check runs (seed 000)


def goal_ref(goal_id: str):
    return db().collection(GOALS).document(goal_id)


def load(goal_id: str, txn=None) -> Goal:
    return firestore.load(goal_ref(goal_id), Goal, "goal", txn)


def load_owned(goal_id: str, user_id: str) -> Goal:
    goal = load(goal_id)
    if goal.owner != user_id:
        raise NotFound(f"goal {goal_id} not found", code="goal_not_found")
    return goal


def document(goal: Goal) -> dict:
    return goal.model_dump(mode="json", by_alias=True, exclude={"id"})


def created_event(goal: Goal) -> GoalCreated:
    return GoalCreated(
        goal_id=goal.id, cls=goal.cls, active=goal.active, conditions=goal.conditions, context=goal.context,
        levels=goal.levels, nbf=goal.nbf, exp=goal.exp, metadata=goal.metadata,
    )


def ended_event(goal: Goal) -> GoalEnded:
    return GoalEnded(
        goal_id=goal.id, cls=goal.cls, active=goal.active, progress=goal.progress, levels=goal.levels,
        conditions=goal.conditions, context=goal.context, exp=goal.exp, triggerer=goal.triggerer,
        metadata=goal.metadata,
    )


def create_show_funding_goal(user_id: str, request: ShowFundingGoalCreate) -> Goal:
    """Seed 000 `create_show_funding_goal` + `create_goal`, in one step so the caller gets the goal."""
    if request.exp <= clock.now():
        raise field_error(["body", "exp"], "exp must be in the future")
    if request.exp > clock.now() + MAX_PRE_SALE:
        raise field_error(["body", "exp"], "exp must be within a year")
    session_id = request.context.session_id
    sessions.load_owned(session_id, user_id)
    goal = Goal(
        id=ids.new_id(), cls=SHOW_FUNDING, active=True, conditions={"session_id": session_id},
        levels=request.levels, nbf=None, exp=request.exp,
        context={"type": "show-funding", **request.context.model_dump()},
        metadata={"user_id": user_id}, created_at=clock.now(),
    )

    def body(txn, fx: steps.Effects) -> Goal:
        session = sessions.load_owned(session_id, user_id, txn)
        if not session.active:
            raise Conflict(f"session {session_id} has ended", code="session_not_active")
        running = where(GOALS, conditions__session_id=session_id, active=True, _cls=SHOW_FUNDING)
        other = next(iter(running.limit(1).stream(transaction=txn)), None)
        if other:
            raise Conflict("the session already has an active show-funding goal",
                           code="funding_goal_active", details={"goal_id": other.id})
        txn.create(goal_ref(goal.id), document(goal))
        # a write to the session makes concurrent creates conflict, so the check above holds
        txn.update(sessions.session_ref(session_id), {"goals_created": increment(1)})
        fx.publish("goal.created", created_event(goal))
        return goal

    return steps.run(f"create_goal:{goal.id}", body, redelivered=False)


def deactivate(goal_id: str, triggerer: str | None = None, *, redelivered: bool = True) -> Goal:
    """Seed `deactivate_goal`: active -> false, exp -> min(exp, now), then `goal.ended`, exactly once."""

    def body(txn, fx: steps.Effects) -> Goal:
        goal = load(goal_id, txn)
        if not goal.active:
            raise AlreadyApplied(f"goal {goal_id} has already ended")
        now = clock.now()
        goal.active = False
        goal.exp = min(goal.exp, int(now)) if goal.exp is not None else int(now)
        goal.triggerer = triggerer
        goal.ended_at = now
        txn.update(goal_ref(goal_id), {"active": False, "exp": goal.exp, "triggerer": triggerer, "ended_at": now})
        fx.publish("goal.ended", ended_event(goal))
        return goal

    return steps.run(f"deactivate_goal:{goal_id}", body, redelivered=redelivered)


def record_refund_decision(txn, goal: Goal, decision: str, reason: str) -> RefundDecision:
    recorded = RefundDecision(decision=decision, reason=reason, escrow_id=f"show_funding:{goal.id}",
                              decided_at=clock.now())
    txn.update(goal_ref(goal.id), {"refund": recorded.model_dump(mode="json")})
    return recorded


def active_goals(limit: int = 500) -> list[Goal]:
    return [firestore.as_model(Goal, s) for s in where(GOALS, active=True).limit(limit).stream()]


def awaiting_refund_decision(limit: int = 500) -> list[Goal]:
    query = where(GOALS, _cls=SHOW_FUNDING, active=False, refund=None).limit(limit)
    return [firestore.as_model(Goal, s) for s in query.stream()]


def refund_check_due(goal: Goal) -> float:
    """Seed 000: the refund check runs at exp + hesitation_countdown + 5 s."""
    return goal.exp + goal.context.get("hesitation_countdown", 0) + REFUND_GRACE


def decide_funding_refund(goal_id: str) -> RefundDecision:
    """Seed `check_funding_goal_refundable`: refund unless a show goal was bound to the pre-sale."""

    def body(txn, fx: steps.Effects) -> RefundDecision:
        goal = load(goal_id, txn)
        if goal.refund:
            raise AlreadyApplied(f"refund of goal {goal_id} already decided")
        if goal.active:
            raise Conflict(f"goal {goal_id} is still active", code="goal_active")
        pair = sessions.load(goal.conditions["session_id"], txn).pair_for(goal_id)
        show_goal = goal.context.get("show_goal_id") or (pair.show_goal if pair else None)
        if goal.target_met:  # reached only through the tick: the normal path never schedules it then
            decision = record_refund_decision(txn, goal, "keep", "the pre-sale reached its target")
        elif show_goal:
            decision = record_refund_decision(txn, goal, "keep", f"show goal {show_goal} is bound")
        else:
            decision = record_refund_decision(txn, goal, "refund", "no show goal was bound to the pre-sale")
        # Seam for the ledger: a "refund" decision is where the escrow_refund step of escrow_id
        # is recorded as an effect of this same step, so the decision and the refund commit together.
        return decision

    return steps.run(f"check_funding_goal_refundable:{goal_id}", body)
