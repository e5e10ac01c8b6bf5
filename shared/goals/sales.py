"""Tickets sold against a pre-sale: what the goals feature keeps of them, and the checks a
purchase makes inside its own transaction.

Every buyer reads the goal (a shared lock, so buyers do not block each other) and none writes
it: a buyer's tickets go to their own record `goals/{id}/buyers/{user}` and the count to one of
PROGRESS_SHARDS counter documents, both by `Increment`. The goal's end writes the goal, so it
waits for the purchases that saw it active and refuses every later one: a ticket either lands
before the end and counts, or is refused.
"""
from __future__ import annotations

import random

from shared.core.errors import Conflict, NotFound, field_error
from shared.core.firestore import Txn, increment
from shared.goals.models import ShowFundingGoal
from shared.goals.service import BUYERS, PROGRESS, PROGRESS_SHARDS, goal_ref, load, tickets_sold


class GoalNotOnSale(Conflict):
    code = "goal_ended"


def open_sale(txn: Txn, goal_id: str, session_id: str, product_id: str, now: float) -> ShowFundingGoal:
    """The pre-sale a ticket is bought for, read in the buyer's transaction; refuses a ticket it does not sell."""
    try:
        goal = load(goal_id, txn)
    except NotFound:
        raise field_error(["body", "goal_id"], "no such pre-sale") from None
    if not isinstance(goal, ShowFundingGoal):
        raise field_error(["body", "goal_id"], "tickets are bought for a pre-sale")
    if goal.session_id != session_id:
        raise Conflict(f"goal {goal_id} belongs to another session", code="goal_not_in_session")
    if not goal.active or (goal.exp is not None and goal.exp <= now):
        raise GoalNotOnSale(f"the pre-sale {goal_id} has ended")
    if product_id != goal.context.ticket_product_id:
        raise field_error(["body", "product_id"], f"this pre-sale sells {goal.context.ticket_product_id}")
    return goal


def count_tickets(txn: Txn, goal: ShowFundingGoal, buyer_id: str, quantity: int, amount: int) -> None:
    """Record a purchase (after the buyer's reads): blind increments, never a read of a shared document."""
    ref = goal_ref(goal.id)
    txn.set(ref.collection(BUYERS).document(buyer_id),
            {"user_id": buyer_id, "tickets": increment(quantity), "amount": increment(amount)}, merge=True)
    txn.set(ref.collection(PROGRESS).document(str(random.randrange(PROGRESS_SHARDS))),
            {"tickets": increment(quantity)}, merge=True)


def breakdown(goal_id: str) -> dict[str, int]:
    """Tickets per buyer, from the buyers' own records (a goal of any size)."""
    return {snap.id: snap.get("tickets") or 0 for snap in goal_ref(goal_id).collection(BUYERS).stream()}


def with_sales(goal: ShowFundingGoal, *, buyers: bool) -> ShowFundingGoal:
    """The goal as a client sees it: its progress from the shards, for its owner the breakdown too."""
    sold: dict[str, object] = {"progress": tickets_sold(goal.id)}
    if buyers:
        sold["breakdown"] = breakdown(goal.id)
    return goal.model_copy(update=sold)


def holds_ticket(goal_id: str, user_id: str) -> bool:
    """Seed 004 "who is authorized", A: the user bought tickets for this pre-sale, and its escrow
    was not refunded."""
    goal = load(goal_id)
    if not isinstance(goal, ShowFundingGoal) or (goal.settlement and goal.settlement.outcome == "refund"):
        return False
    snap = goal_ref(goal_id).collection(BUYERS).document(user_id).get()
    return snap.exists and (snap.get("tickets") or 0) > 0
