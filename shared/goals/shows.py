"""The show stage (seeds: ShowGoal, 表演階段) and where a pre-sale's escrow goes.

A show starts against a pre-sale in one step with the pre-sale's claim, so a show start and the
pre-sale's refund decision, racing, are serialized on the pre-sale: exactly one of them wins.
The escrow is settled once (`settle`): paid out to the streamer less the platform's share when
the show ran its perform_duration, refunded to every buyer otherwise, each hold in its own task.
"""
from __future__ import annotations

from pydantic import BaseModel

from shared.core import clock, firestore, ids, steps
from shared.core.errors import NotFound, field_error
from shared.core.firestore import Txn, changes
from shared.core.pusher import stream_channels
from shared.goals.models import (
    OwnerMetadata,
    SessionConditions,
    ShowContext,
    ShowFundingGoal,
    ShowGoal,
    ShowNotAllowed,
)
from shared.goals.requests import ShowGoalCreate
from shared.goals.service import GOALS, goal_ref, load, settle, with_final_progress
from shared.goals.signals import GOAL_CREATED, GOAL_ENDED
from shared.livestream import sessions


class EscrowPaidOut(BaseModel):
    """`escrow.paid_out` on the streamer's channels: the show counted, its tickets are being paid."""

    escrow_id: str
    show_goal_id: str
    funding_goal_id: str


def pre_sale(goal_id: str, txn: Txn | None = None) -> ShowFundingGoal:
    goal = load(goal_id, txn)
    if not isinstance(goal, ShowFundingGoal):
        raise field_error(["body", "context", "funding_goal_id"], f"goal {goal_id} is not a pre-sale")
    return goal


def start_show(user_id: str, triggerer: str, request: ShowGoalCreate,
               client_key: steps.ClientKey | None = None) -> ShowGoal:
    """`POST /goals?type=show`: the show begins now and must run the pre-sale's perform_duration."""
    terms = request.context
    funding = pre_sale(terms.funding_goal_id)
    if funding.owner != user_id or funding.session_id != terms.session_id:
        raise NotFound(f"goal {terms.funding_goal_id} not found", code="goal_not_found")
    show_id = ids.new_id()

    def body(txn: Txn, fx: steps.Effects) -> ShowGoal:
        sessions.require_active(sessions.load_owned(terms.session_id, user_id, txn))
        stored = pre_sale(terms.funding_goal_id, txn)
        counted = with_final_progress(stored, txn)
        now = clock.now()
        bound = counted.bind_show(show_id, now)
        if bound.active:  # the show starts the pre-sale's end, as seed 002's early DELETE does
            bound, ended = bound.end(now, triggerer)
            sessions.goal_closed(txn, terms.session_id, stored.id)
            fx.publish(GOAL_ENDED, ended)
        duration = counted.context.perform_duration
        show = ShowGoal(id=show_id, active=True, levels=[], nbf=int(now), exp=int(now) + duration, created_at=now,
                        conditions=SessionConditions(session_id=terms.session_id),
                        metadata=OwnerMetadata(user_id=user_id),
                        context=ShowContext(session_id=terms.session_id, funding_goal_id=stored.id,
                                            perform_duration=duration))
        txn.update(goal_ref(stored.id), changes(stored, bound))
        txn.create(goal_ref(show.id), firestore.document(show))
        sessions.goal_opened(txn, terms.session_id, show.id)
        fx.publish(GOAL_CREATED, show.created_event())
        return show

    return steps.run(f"start_show:{show_id}", body, redelivered=False, claim=f"goal:{terms.funding_goal_id}",
                     client_key=client_key)


def settle_show(txn: Txn, fx: steps.Effects, show: ShowGoal) -> None:
    """Seeds: `trigger_show_escrow_refund` for the show goal, inside its step (holding the pre-sale's
    claim): performed -> the escrow is paid out, ended early -> refunded."""
    stored = pre_sale(show.context.funding_goal_id, txn)
    duration = show.context.perform_duration
    if show.performed:
        settle(txn, fx, stored, "payout", f"show {show.id} ran its {duration} s")
        fx.notify(stream_channels(stored.owner), "escrow.paid_out", EscrowPaidOut(
            escrow_id=stored.escrow_id, show_goal_id=show.id, funding_goal_id=stored.id))
    else:
        settle(txn, fx, stored, "refund", f"show {show.id} ended before its {duration} s")


def refund_unshown(funding_id: str) -> None:
    """Seeds' `deactivate_goals_in_session`: a pre-sale that met its target but got no show, in a
    session that ended, is refunded."""

    def body(txn: Txn, fx: steps.Effects):
        stored = pre_sale(funding_id, txn)
        if stored.context.show_goal_id or not stored.refund or stored.refund.decision != "keep":
            raise ShowNotAllowed(f"pre-sale {funding_id} is not waiting for a show", code="not_unshown")
        settle(txn, fx, stored, "refund", "the session ended without the pre-sale's show")

    steps.run(f"refund_unshown:{funding_id}", body, claim=f"goal:{funding_id}")


def unshown_pre_sales(session_id: str) -> list[str]:
    """Pre-sales of the session whose escrow is kept for a show that never came."""
    query = firestore.where(GOALS, conditions__session_id=session_id, _cls="ShowFundingGoal", settlement=None)
    return [snap.id for snap in query.stream()
            if (snap.get("refund") or {}).get("decision") == "keep" and not snap.get("context").get("show_goal_id")]
