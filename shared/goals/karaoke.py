"""Karaoke goals (seed 004): a `karaoke-` gift is a command with a duration (a remote-controlled
toy, a request to the streamer). Sending one holds its price in the goal's own escrow
`karaoke:{goal_id}` and creates a KaraokeGoal, queued per session behind the one running.

The queue is the goals feature's document `karaoke_queues/{session_id}`, changed only in steps
holding the session's karaoke claim (`karaoke:{session_id}`): a send appends to it, the end of the
running goal starts the next (karaoke_receivers.advance_karaoke_queue). Ending a goal (its
duration passed, done, skip, the session's end) is the goal's `deactivate_goal:{id}` step, so one
ending wins; its `goal.ended` settles the escrow: paid out when it was performed, else refunded.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Literal

from shared.core import clock, firestore, steps
from shared.core.errors import AlreadyApplied, NotFound, field_error
from shared.core.firestore import Txn, changes, db
from shared.core.pusher import stream_channels
from shared.goals.karaoke_rules import KaraokeQueue, advance, enqueue
from shared.goals.models import (
    GOAL,
    KARAOKE,
    DeactivateGoalArgs,
    GoalAlreadyEnded,
    KaraokeContext,
    KaraokeGoal,
    KaraokeNotRunning,
    OwnerMetadata,
    SessionConditions,
)
from shared.goals.service import GOALS, goal_ref, load, settle
from shared.goals.signals import GOAL_CREATED, GOAL_ENDED
from shared.goals.tasks import DEACTIVATE_GOAL
from shared.ledger import book
from shared.ledger.models import Transfer, escrow, wallet
from shared.ledger.spending import spent
from shared.livestream import sessions
from shared.livestream.models import Session

QUEUES = "karaoke_queues"
STARTED = "karaoke.started"  # on the stream channels when a queued goal's turn comes
EndStep = Callable[[Txn, steps.Effects, KaraokeGoal], str | None]  # a step on an ended goal (goal.ended's receivers)


def queue_ref(session_id: str):
    return db().collection(QUEUES).document(session_id)


def claim(session_id: str) -> str:
    """The resource every change of a session's karaoke queue names (steps' `claim=`)."""
    return f"karaoke:{session_id}"


def read_queue(txn: Txn, session_id: str) -> KaraokeQueue:
    snap = queue_ref(session_id).get(transaction=txn)
    return KaraokeQueue.from_document(snap.to_dict() if snap.exists else None)


def karaoke_goal(goal_id: str, txn: Txn | None = None) -> KaraokeGoal:
    goal = load(goal_id, txn)
    if not isinstance(goal, KaraokeGoal):
        raise field_error(["path", "goal_id"], f"goal {goal_id} is not a karaoke goal")
    return goal


def send(txn: Txn, fx: steps.Effects, session: Session, sender_id: str, goal_id: str, product_id: str, duration: int,
         amount: int) -> tuple[KaraokeGoal, Transfer]:
    """Inside the gift's step (holding `claim(session)`), after it read the session: the price is
    held in the goal's escrow, and the goal runs at once or waits its turn. Reads come first."""
    queue = read_queue(txn, session.id)
    now = clock.now()
    queue, starts = enqueue(queue, goal_id)
    goal = KaraokeGoal(
        id=goal_id, active=True, levels=[], created_at=now, amount=amount,
        conditions=SessionConditions(session_id=session.id), metadata=OwnerMetadata(user_id=session.user_id),
        context=KaraokeContext(session_id=session.id, product_id=product_id, duration=duration, sender_id=sender_id))
    if starts:  # its deactivate_goal is scheduled on goal.created (schedule_lifecycle_tasks)
        goal = goal.start(now)
    (hold,) = book.execute(txn, [book.Move(
        goal.escrow_id, wallet(sender_id), escrow(goal.escrow_id), amount, hold=True,
        metadata={"goal_id": goal.id, "session_id": session.id, "streamer_id": session.user_id,
                  "product_id": product_id, "duration": duration})])
    spent(fx, hold.id, sender_id, session.user_id, session.id, amount, "gift", hold.created_at)
    txn.create(goal_ref(goal.id), firestore.document(goal))
    txn.set(queue_ref(session.id), {"session_id": session.id, **queue.as_document()})
    sessions.goal_opened(txn, session.id, goal.id)
    fx.publish(GOAL_CREATED, goal.created_event())
    return goal, hold


def start_next(txn: Txn, fx: steps.Effects, ended: KaraokeGoal) -> str | None:
    """Inside a step holding `claim(session)`: the ended goal leaves its session's queue and, when it
    was the one running, the next goal still active starts (not once the session is over).
    The goal started, or None; a goal already gone from the queue changes nothing."""
    queue = read_queue(txn, ended.session_id)
    session = sessions.load(ended.session_id, txn)
    seen: dict[str, KaraokeGoal] = {}

    def is_active(goal_id: str) -> bool:  # reads only: every read comes before the writes below
        seen[goal_id] = karaoke_goal(goal_id, txn)
        return seen[goal_id].active

    after, next_id = advance(queue, ended.id, is_active, session.active)
    if after == queue:
        return None
    txn.set(queue_ref(ended.session_id), {"session_id": ended.session_id, **after.as_document()})
    if next_id is None:
        return None
    waiting = seen[next_id]
    started = waiting.start(clock.now())
    txn.update(goal_ref(next_id), changes(waiting, started))
    fx.schedule(DEACTIVATE_GOAL, DeactivateGoalArgs(goal_id=next_id), at=started.exp)
    fx.notify(stream_channels(started.owner), STARTED, started.notice(started.owner))
    return next_id


def settle_ended(txn: Txn, fx: steps.Effects, goal: KaraokeGoal) -> str:
    """Inside a step holding the goal's claim: its escrow goes to the streamer (less the platform's
    share, hold by hold in the ledger's escrow_refund) when it was performed, back to its sender
    otherwise; once."""
    if goal.settlement:
        return f"settled: {goal.settlement.outcome}"
    if goal.performed:
        reason = "marked done" if goal.done_at is not None else f"ran its {goal.context.duration} s"
        settle(txn, fx, goal, "payout", reason)
        return "payout"
    reason = ("skipped by the streamer" if goal.skipped else
              "ended before it started" if goal.started_at is None else "ended before its duration")
    settle(txn, fx, goal, "refund", reason)
    return "refund"


def finish(goal_id: str, streamer_id: str, action: Literal["done", "skip"], triggerer: str | None) -> KaraokeGoal:
    """`POST /goals/{id}/karaoke/{done|skip}` by the session's streamer: done ends the running goal
    early and pays; skip ends a queued or running one and refunds. The same step key as
    deactivate_goal: whichever ends the goal first wins, the other gets 409 goal_ended."""
    goal = karaoke_goal(goal_id)
    if goal.owner != streamer_id:
        raise NotFound(f"goal {goal_id} not found", code="goal_not_found")

    def refuse() -> None:  # the common refusals, without queueing for the goal's claim
        current = karaoke_goal(goal_id)
        if not current.active:
            raise GoalAlreadyEnded(f"goal {goal_id} has already ended")
        if action == "done" and current.started_at is None:
            raise KaraokeNotRunning(f"goal {goal_id} waits for its turn")

    refuse()

    def body(txn: Txn, fx: steps.Effects) -> KaraokeGoal:
        stored = karaoke_goal(goal_id, txn)
        ended, event = stored.finish(action, clock.now(), triggerer)
        txn.update(goal_ref(goal_id), changes(stored, ended))
        sessions.goal_closed(txn, stored.session_id, goal_id)
        fx.publish(GOAL_ENDED, event)
        return ended

    try:
        return steps.run(f"deactivate_goal:{goal_id}", body, redelivered=False, claim=f"goal:{goal_id}",
                         precheck=refuse)
    except AlreadyApplied:
        raise GoalAlreadyEnded(f"goal {goal_id} has already ended") from None


def overdue_unsettled(before: float) -> Iterator[KaraokeGoal]:
    """Ended karaoke goals still unsettled whose settling was due before `before`."""
    query = firestore.where(GOALS, ("refund_due_at", "<", before), _cls=KARAOKE, settlement=None)
    return firestore.each(query.order_by("refund_due_at"), GOAL)


def reconcile(goal_id: str) -> None:
    """The tick's backstop for a lost `goal.ended`: its two receivers' steps, under their own keys
    and claims, so whichever already ran is a repeat (settle_karaoke_escrow, advance_karaoke_queue)."""
    goal = karaoke_goal(goal_id)
    event_id = f"goal.ended:{goal_id}"
    for key, run, on in ((f"settle_karaoke_escrow@{event_id}", settle_ended, f"goal:{goal_id}"),
                         (f"advance_karaoke_queue@{event_id}", start_next, claim(goal.session_id))):
        def body(txn: Txn, fx: steps.Effects, run: EndStep = run) -> str | None:
            return run(txn, fx, karaoke_goal(goal_id, txn))

        try:
            steps.run(key, body, claim=on)
        except AlreadyApplied:
            pass
