"""Creating, reading and ending goals; the refund decision of a pre-sale that did not lead to a show.

Each function loads the goal, applies a rule of models.py and saves what the rule changed, in
one step with the events the rule returned. Only this feature writes goals.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from shared import access_cache
from shared.core import clock, firestore, ids, steps
from shared.core.errors import Conflict, NotFound, field_error
from shared.core.firestore import Txn, changes, db
from shared.goals.models import (
    GOAL,
    SHOW_FUNDING,
    EscrowedGoal,
    Goal,
    GoalBase,
    OwnerMetadata,
    RefundDecision,
    SessionConditions,
    ShowFundingGoal,
    ShowFundingGoalContext,
)
from shared.goals.requests import ShowFundingGoalCreate
from shared.goals.signals import GOAL_CREATED, GOAL_ENDED
from shared.ledger.tasks import ESCROW_REFUND, EscrowArgs
from shared.livestream import sessions

GOALS = "goals"
BUYERS, PROGRESS = "buyers", "progress"  # per goal: each buyer's record, the sold-tickets counter shards
PROGRESS_SHARDS = 16
MAX_PRE_SALE = 366 * 24 * 3600
G = TypeVar("G", bound=GoalBase)


def goal_ref(goal_id: str):
    return db().collection(GOALS).document(goal_id)


def load(goal_id: str, txn: Txn | None = None) -> Goal:
    return firestore.load(goal_ref(goal_id), GOAL, "goal", txn)


def of_class(goal: Goal, cls: type[G]) -> G:
    """`goal` as the class its caller knows it has (the event or task naming it says so). A goal keeps
    its class for good, so another one is a bug: raised as such, not refused like a request."""
    if not isinstance(goal, cls):
        raise TypeError(f"goal {goal.id} is a {goal.cls}, not a {cls.__name__}")
    return goal


def ended(goal_id: str, txn: Txn) -> Goal:
    """The goal as stored, once it has ended: `goal.ended` is only published after the goal
    ended, so an active one means the event is not real (refused, so the real one still counts)."""
    goal = load(goal_id, txn)
    if goal.active:
        raise Conflict(f"goal {goal_id} has not ended", code="goal_active")
    return goal


def tickets_sold(goal_id: str, txn: Txn | None = None) -> int:
    """A pre-sale's progress: the sum of its counter shards (sales.py writes them)."""
    refs = [goal_ref(goal_id).collection(PROGRESS).document(str(n)) for n in range(PROGRESS_SHARDS)]
    snaps = txn.get_all(refs) if txn is not None else db().get_all(refs)
    return sum(snap.get("tickets") or 0 for snap in snaps if snap.exists)


def load_owned(goal_id: str, user_id: str) -> Goal:
    goal = load(goal_id)
    if goal.owner != user_id:
        raise NotFound(f"goal {goal_id} not found", code="goal_not_found")
    return goal


def create_show_funding_goal(user_id: str, request: ShowFundingGoalCreate,
                             client_key: steps.ClientKey | None = None) -> ShowFundingGoal:
    """Seed 000 `create_show_funding_goal` + `create_goal`, in one step so the caller gets the goal."""
    if request.exp <= clock.now():
        raise field_error(["body", "exp"], "exp must be in the future")
    if request.exp > clock.now() + MAX_PRE_SALE:
        raise field_error(["body", "exp"], "exp must be within a year")
    session_id = request.context.session_id
    sessions.load_owned(session_id, user_id)
    goal = ShowFundingGoal(
        id=ids.new_id(), active=True, conditions=SessionConditions(session_id=session_id),
        levels=request.levels, nbf=None, exp=request.exp,
        context=ShowFundingGoalContext(**request.context.model_dump()),
        metadata=OwnerMetadata(user_id=user_id), created_at=clock.now(),
    )

    def may_open(txn: Txn | None = None) -> None:
        sessions.require_active(sessions.load_owned(session_id, user_id, txn))
        running = firestore.where(GOALS, conditions__session_id=session_id, active=True, _cls=SHOW_FUNDING)
        other = next(iter(running.limit(1).stream(transaction=txn)), None)
        if other:
            raise Conflict("the session already has an active show-funding goal",
                           code="funding_goal_active", details={"goal_id": other.id})

    def body(txn: Txn, fx: steps.Effects) -> ShowFundingGoal:
        may_open(txn)
        txn.create(goal_ref(goal.id), firestore.document(goal))
        sessions.goal_opened(txn, session_id, goal.id)
        fx.publish(GOAL_CREATED, goal.created_event())
        return goal

    return steps.run(f"create_goal:{goal.id}", body, redelivered=False, claim=f"session:{session_id}",
                     precheck=may_open, client_key=client_key)


def deactivate(goal_id: str, triggerer: str | None = None, *, redelivered: bool = True) -> Goal:
    """Seed `deactivate_goal`: the goal ends and `goal.ended` is published, exactly once."""

    # a pre-sale's progress as far as known: the refund decision counts again once sales are closed
    sold = tickets_sold(goal_id) if isinstance(load(goal_id), ShowFundingGoal) else None

    def body(txn: Txn, fx: steps.Effects) -> Goal:
        goal = load(goal_id, txn)
        if sold is not None:
            goal = goal.model_copy(update={"progress": sold})
        ended, event = goal.end(clock.now(), triggerer)
        txn.update(goal_ref(goal_id), changes(goal, ended))
        sessions.goal_closed(txn, goal.session_id, goal_id)
        fx.publish(GOAL_ENDED, event)
        return ended

    return steps.run(f"deactivate_goal:{goal_id}", body, redelivered=redelivered, claim=f"goal:{goal_id}")


def decide_funding_refund(goal_id: str) -> RefundDecision:
    """Seed `check_funding_goal_refundable`: refund unless a show goal was bound to the pre-sale."""

    def body(txn: Txn, fx: steps.Effects) -> RefundDecision:
        stored = of_class(load(goal_id, txn), ShowFundingGoal)
        goal = with_final_progress(stored, txn)
        if goal.target_met and not goal.refund:  # the same rule as when it ended: its session may be over
            return keep_funded_escrow(txn, fx, stored, goal)
        show_goal = sessions.show_goal_of(goal.session_id, goal_id, txn)
        decided, decision = goal.decide_refund(show_goal, clock.now())
        if decision.decision == "refund":  # seed `escrow_refund`, linked to the decision in the same step
            settle(txn, fx, stored, "refund", decision.reason, decided)
        else:
            txn.update(goal_ref(goal_id), changes(stored, decided))
        return decision

    return steps.run(f"check_funding_goal_refundable:{goal_id}", body, claim=f"goal:{goal_id}")


def with_final_progress(goal: ShowFundingGoal, txn: Txn) -> ShowFundingGoal:
    """An ended pre-sale with every ticket counted (no sale lands after the end)."""
    return goal if goal.active else goal.model_copy(update={"progress": tickets_sold(goal.id, txn)})


def settle(txn: Txn, fx: steps.Effects, stored: EscrowedGoal, outcome: str, reason: str,
           goal: EscrowedGoal | None = None) -> None:
    """Inside a step holding the goal's claim: record where its escrow goes, once, and send it
    there hold by hold (the ledger's escrow_refund). `goal`: the goal as the step changed it."""
    settled, _ = (goal or stored).settle(outcome, reason, clock.now())
    txn.update(goal_ref(stored.id), changes(stored, settled))
    if outcome == "refund":  # its ticket buyers no longer watch the show
        access_cache.invalidate_get_session_token_view_cache(txn, stored.session_id)
    event = "escrow.failed" if outcome == "refund" else "escrow.succeeded"
    fx.schedule(ESCROW_REFUND, EscrowArgs(escrow_id=stored.escrow_id, event=event), at=clock.now())


def keep_funded_escrow(txn: Txn, fx: steps.Effects, stored: ShowFundingGoal,
                       counted: ShowFundingGoal) -> RefundDecision:
    """A pre-sale that met its target (`counted`: with every ticket counted) keeps its escrow for the
    show: decided when it ends, no check needed. Its session over and no show bound, no show can
    come: refunded instead (seeds: `deactivate_goals_in_session`)."""
    session_over = not sessions.load(counted.session_id, txn).active
    decided, decision = counted.decide_refund(None, clock.now())
    if session_over and not decided.context.show_goal_id:
        settle(txn, fx, stored, "refund", "the session ended without the pre-sale's show", decided)
    else:
        txn.update(goal_ref(stored.id), changes(stored, decided))
    return decision


def active_goal_ids(session_id: str, txn: Txn | None = None, cls: str | None = None) -> list[str]:
    query = firestore.where(GOALS, conditions__session_id=session_id, active=True, **({"_cls": cls} if cls else {}))
    return [snap.id for snap in query.stream(transaction=txn)]


def overdue_active_goals(before: float) -> Iterator[Goal]:
    """Active goals of every class whose exp passed before `before`, oldest first (their deactivate
    task was lost)."""
    return firestore.each(firestore.where(GOALS, ("exp", "<", before), active=True).order_by("exp"), GOAL)


def overdue_refund_checks(before: float) -> Iterator[ShowFundingGoal]:
    """Ended pre-sales still without a refund decision whose check was due before `before` (only
    pre-sales store a `refund`, so no other goal matches `refund=None`)."""
    query = firestore.where(GOALS, ("refund_due_at", "<", before), refund=None).order_by("refund_due_at")
    return firestore.each(query, GOAL)
