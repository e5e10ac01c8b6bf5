"""1-on-1 sessions (seeds 001, 003): a viewer's invitation with its prepaid minutes in escrow, the
streamer's answer, and the 1-on-1 (ExclusiveGoal) that pays the prepaid out to the streamer.

Each function is one step. The invitation's claim (`goal:{id}`) serializes everything that decides
where its escrow goes: the answer, the 1-on-1's start and the check for an unused agreement, so
exactly one of them wins. The session is read in the same transaction wherever two viewers or
two answers could race (one pending invitation per viewer, one 1-on-1 per session).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from shared.core import clock, firestore, ids, steps
from shared.core.config import settings
from shared.core.errors import AlreadyApplied, Conflict, NotFound, field_error
from shared.core.firestore import Txn, changes
from shared.goals import service
from shared.goals.models import (
    GOAL,
    TRIGGER_EXCLUSIVE,
    ExclusiveContext,
    ExclusiveGoal,
    GoalAlreadyEnded,
    OwnerMetadata,
    SessionConditions,
    TriggerExclusiveContext,
    TriggerExclusiveGoal,
)
from shared.goals.requests import ExclusiveGoalCreate, TriggerExclusiveGoalCreate
from shared.goals.service import GOALS, goal_ref, load, settle
from shared.goals.signals import GOAL_CREATED, GOAL_ENDED
from shared.ledger import book
from shared.ledger.models import escrow, wallet
from shared.ledger.spending import spent
from shared.livestream import sessions
from shared.livestream.models import Session

WINDOW_BONUS = 60  # seconds an agreed viewer gets on top of what they prepaid (seed 001): the countdown


class InvitationPending(Conflict):
    code = "invitation_pending"


def invitation(goal_id: str, txn: Txn | None = None, *, loc: list | None = None) -> TriggerExclusiveGoal:
    goal = load(goal_id, txn)
    if not isinstance(goal, TriggerExclusiveGoal):
        raise field_error(loc or ["path", "goal_id"], f"goal {goal_id} is not a 1-on-1 invitation")
    return goal


def _may_invite(session: Session, viewer_id: str, txn: Txn | None = None) -> None:
    sessions.require_active(session)
    if session.status.exclusive_to:
        raise sessions.ExclusiveBusy("the streamer is already in a 1-on-1",
                                     details={"exclusive_to": session.status.exclusive_to})
    pair = session.exclusive_goal_pairs.get(viewer_id)
    if pair is not None and load(pair.trigger_exclusive_goal, txn).active:
        raise InvitationPending("you already invited the streamer in this session",
                                details={"goal_id": pair.trigger_exclusive_goal})


def invite(viewer_id: str, request: TriggerExclusiveGoalCreate,
           client_key: steps.ClientKey | None = None) -> TriggerExclusiveGoal:
    """`POST /goals?type=trigger-exclusive`: the prepaid minutes at the session's sd price are held
    in escrow `trigger_exclusive:{goal_id}` and the streamer has `exp` to answer."""
    terms = request.context
    if sessions.load(terms.session_id).user_id == viewer_id:
        raise Conflict("streamers do not invite themselves", code="own_session")
    goal_id = ids.new_id()

    def body(txn: Txn, fx: steps.Effects) -> TriggerExclusiveGoal:
        session = sessions.load(terms.session_id, txn)
        _may_invite(session, viewer_id, txn)
        now = clock.now()
        amount = session.get_price("sd", terms.prepaid_duration)
        goal = TriggerExclusiveGoal(
            id=goal_id, active=True, levels=[], exp=int(now) + settings().exclusive_answer_seconds, created_at=now,
            conditions=SessionConditions(session_id=session.id, exclusive_to=viewer_id),
            context=TriggerExclusiveContext(exclusive_to=viewer_id), prepaid=amount,
            metadata=OwnerMetadata(user_id=session.user_id, prepaid_duration=terms.prepaid_duration))
        book.execute(txn, [book.Move(
            goal.escrow_id, wallet(viewer_id), escrow(goal.escrow_id), amount, hold=True,
            metadata={"goal_id": goal.id, "session_id": session.id, "streamer_id": session.user_id,
                      "prepaid_duration": terms.prepaid_duration, "refund_after": goal.exp})])
        spent(fx, goal.escrow_id, viewer_id, session.user_id, session.id, amount, "exclusive", now)
        txn.create(goal_ref(goal.id), firestore.document(goal))
        sessions.goal_opened(txn, session.id, goal.id)
        sessions.invite_exclusive(txn, session.id, viewer_id, goal.id)
        fx.publish(GOAL_CREATED, goal.created_event())
        return goal

    def precheck() -> None:
        _may_invite(sessions.load(terms.session_id), viewer_id)

    return steps.run(f"create_goal:{goal_id}", body, redelivered=False, claim=f"session:{terms.session_id}",
                     precheck=precheck, client_key=client_key)


def answer(goal_id: str, streamer_id: str, agree: bool, triggerer: str | None) -> TriggerExclusiveGoal:
    """Seed 001 `DELETE /goals/{id}` with `agree`: the invitation ends, agreed or declined. An
    agreement makes the 1-on-1 the viewer's (`status.exclusive_to`) in the same transaction."""
    if invitation(goal_id).owner != streamer_id:
        raise NotFound(f"goal {goal_id} not found", code="goal_not_found")

    def body(txn: Txn, fx: steps.Effects) -> TriggerExclusiveGoal:
        stored = invitation(goal_id, txn)
        session = sessions.load(stored.session_id, txn)
        ended, event = stored.answer(agree, clock.now(), triggerer, settings().exclusive_start_grace)
        if agree:
            sessions.require_active(session)
            sessions.agree_exclusive(txn, session, stored.viewer)
        txn.update(goal_ref(goal_id), changes(stored, ended))
        sessions.goal_closed(txn, stored.session_id, goal_id)
        fx.publish(GOAL_ENDED, event)
        return ended

    # the same key as deactivate_goal: an answer and the invitation's expiry end it once between them
    return steps.run(f"deactivate_goal:{goal_id}", body, redelivered=False, claim=f"goal:{goal_id}")


def start_exclusive(streamer_id: str, request: ExclusiveGoalCreate,
                    client_key: steps.ClientKey | None = None) -> ExclusiveGoal:
    """`POST /goals?type=exclusive` (seed 003 `create_exclusive_goal`): the 1-on-1 starts, bound to
    the agreed invitation, whose prepaid goes to the streamer's earnings less the platform's share."""
    terms = request.context
    loc = ["body", "context", "trigger_exclusive_goal_id"]
    found = invitation(terms.trigger_exclusive_goal_id, loc=loc)
    if found.owner != streamer_id or found.session_id != terms.session_id:
        raise NotFound(f"goal {terms.trigger_exclusive_goal_id} not found", code="goal_not_found")
    now = clock.now()
    nbf = int(now) if request.nbf is None else request.nbf
    if nbf < now - WINDOW_BONUS:
        raise field_error(["body", "nbf"], "nbf is in the past")
    exclusive_id = ids.new_id()

    def body(txn: Txn, fx: steps.Effects) -> ExclusiveGoal:
        session = sessions.load_owned(terms.session_id, streamer_id, txn)
        sessions.require_active(session)
        stored = invitation(terms.trigger_exclusive_goal_id, txn, loc=loc)
        bound = stored.bind_exclusive(exclusive_id, clock.now())
        assert stored.agreed is not None, "bind_exclusive refuses an invitation not agreed to"
        if nbf > max(now, stored.agreed + WINDOW_BONUS):  # the countdown fits the agreed bonus minute
            raise field_error(["body", "nbf"], f"the 1-on-1 starts at most {WINDOW_BONUS} s after the agreement")
        exclusive = ExclusiveGoal(
            id=exclusive_id, active=True, levels=request.levels, nbf=nbf, exp=exclusive_ends(stored, session),
            created_at=clock.now(), conditions=SessionConditions(session_id=session.id, exclusive_to=stored.viewer),
            context=ExclusiveContext(session_id=session.id, exclusive_to=stored.viewer,
                                     trigger_exclusive_goal_id=stored.id),
            metadata=OwnerMetadata(user_id=streamer_id))
        settle(txn, fx, stored, "payout", f"1-on-1 {exclusive_id} started", bound)
        txn.create(goal_ref(exclusive.id), firestore.document(exclusive))
        sessions.goal_opened(txn, session.id, exclusive.id)
        fx.publish(GOAL_CREATED, exclusive.created_event())
        return exclusive

    return steps.run(f"start_exclusive:{exclusive_id}", body, redelivered=False,
                     claim=f"goal:{terms.trigger_exclusive_goal_id}", client_key=client_key)


def exclusive_ends(trigger: TriggerExclusiveGoal, session: Session) -> int:
    """When a 1-on-1 runs out: the end of its viewer's paid window (the countdown minute after the
    agreement plus what they prepaid, or later when they paid for more)."""
    assert trigger.agreed is not None, "only an agreed invitation leads to a 1-on-1"
    window = session.viewers.get(trigger.viewer)
    return int(max(trigger.agreed + WINDOW_BONUS + trigger.prepaid_duration, window.exp if window else 0))


def decide_unused_refund(goal_id: str) -> str:
    """Seed `check_trigger_exclusive_goal_refundable`, at `exp + grace` after an agreement: no 1-on-1
    followed, so the prepaid goes back and the session is free for another 1-on-1. The maintenance
    tick runs it too for an invitation ended unagreed whose refund was lost."""

    def body(txn: Txn, fx: steps.Effects) -> str:
        stored = invitation(goal_id, txn)
        if stored.settlement:
            return f"settled: {stored.settlement.outcome}"
        if not stored.unused_refund_due(clock.now()):
            return "kept: a 1-on-1 followed"
        session = sessions.load(stored.session_id, txn)
        settle(txn, fx, stored, "refund", "no 1-on-1 started after the agreement")
        sessions.release_agreement(txn, session, stored.viewer, stored.id)
        return "refunded"

    return steps.run(f"check_trigger_exclusive_goal_refundable:{goal_id}", body, claim=f"goal:{goal_id}")


def refund_unagreed(goal_id: str) -> str:
    """Seed `handle_trigger_private_goal_escrow`: an invitation declined, withdrawn, unanswered by
    `exp` or superseded by another viewer's agreement gives its prepaid back at once."""

    def body(txn: Txn, fx: steps.Effects) -> str:
        stored = invitation(goal_id, txn)
        if stored.active:
            raise Conflict(f"goal {goal_id} has not ended", code="goal_active")
        if stored.agreed:
            return "agreed"
        if stored.settlement:
            return f"settled: {stored.settlement.outcome}"
        settle(txn, fx, stored, "refund", "the invitation ended without an agreement")
        return "refunded"

    return steps.run(f"handle_trigger_private_goal_escrow:{goal_id}", body, claim=f"goal:{goal_id}")


def drop_pair(goal_id: str) -> bool:
    """Seed `cleanup_expired_exclusive_goal_pairs` for an invitation that ended unagreed."""
    goal = invitation(goal_id)

    def body(txn: Txn, fx: steps.Effects) -> bool:
        return sessions.drop_invitation(txn, goal.session_id, goal.viewer, goal.id)

    try:
        return steps.run(f"drop_invitation:{goal_id}", body, claim=f"session:{goal.session_id}")
    except AlreadyApplied:
        return False


def paid_until(goal: ExclusiveGoal, txn: Txn | None = None) -> int:
    """When a 1-on-1 runs out: its exp, or later when its viewer paid for more since (`/pay`)."""
    window = sessions.load(goal.session_id, txn).viewers.get(goal.viewer)
    return int(max(goal.exp or 0, window.exp if window else 0))


def overdue_unused_checks(before: float) -> Iterator[TriggerExclusiveGoal]:
    """Agreed invitations still unsettled whose check for an unused agreement was due before `before`."""
    query = firestore.where(GOALS, ("refund_due_at", "<", before), _cls=TRIGGER_EXCLUSIVE, settlement=None)
    return firestore.each(query.order_by("refund_due_at"), GOAL)


def withdraw(goal_id: str, viewer_id: str, triggerer: str | None) -> TriggerExclusiveGoal:
    """The inviting viewer takes a pending invitation back: it ends and is refunded like a decline."""
    goal = invitation(goal_id)
    if goal.viewer != viewer_id:
        raise NotFound(f"goal {goal_id} not found", code="goal_not_found")
    if not goal.active:
        raise GoalAlreadyEnded(f"goal {goal_id} has already ended")
    # a goal keeps its class: what deactivate ended is the invitation loaded above
    return cast(TriggerExclusiveGoal, service.deactivate(goal_id, triggerer=triggerer, redelivered=False))
