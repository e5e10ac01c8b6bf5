"""Starting, reading and ending sessions. One active session per streamer, kept by `streamers/{id}`."""
from __future__ import annotations

from shared.core import clock, firestore, ids, steps
from shared.core.errors import AlreadyApplied, Conflict, NotFound
from shared.core.firestore import db, run_transaction, where
from shared.livestream.models import Session, Statuses

SESSIONS = "sessions"
STREAMERS = "streamers"


def session_ref(session_id: str):
    return db().collection(SESSIONS).document(session_id)


def load(session_id: str, txn=None) -> Session:
    return firestore.load(session_ref(session_id), Session, "session", txn)


def load_owned(session_id: str, user_id: str, txn=None) -> Session:
    """The session if `user_id` streams it; anyone else is told it does not exist."""
    session = load(session_id, txn)
    if session.user_id != user_id:
        raise NotFound(f"session {session_id} not found", code="session_not_found")
    return session


def save(txn, session: Session) -> None:
    txn.set(session_ref(session.id), session.model_dump(mode="json", exclude={"id"}), merge=True)


def start(user_id: str, title: str | None) -> Session:
    lock = db().collection(STREAMERS).document(user_id)

    def attempt(txn):
        current = lock.get(transaction=txn)
        active_id = current.get("active_session_id") if current.exists else None
        if active_id:
            raise Conflict("you already have an active session", code="session_already_active",
                           details={"session_id": active_id})
        session = Session(id=ids.new_id(), user_id=user_id, title=title, active=True,
                          statuses=Statuses(created=clock.now()))
        save(txn, session)
        txn.set(lock, {"active_session_id": session.id}, merge=True)
        return session

    return run_transaction(attempt)


def end(user_id: str, session_id: str) -> tuple[Session, list[str]]:
    """End the session and, through `deactivate_goal` tasks due now, every goal still active in it."""
    load_owned(session_id, user_id)  # 404 for anyone else before any state is looked at

    def body(txn, fx: steps.Effects):
        session = load(session_id, txn)
        if not session.active:
            raise AlreadyApplied("session already ended")
        goals = [snap.id for snap in where("goals", conditions__session_id=session_id, active=True).stream(transaction=txn)]
        session.active = False
        session.statuses.ended = clock.now()
        save(txn, session)
        txn.set(db().collection(STREAMERS).document(user_id), {"active_session_id": None}, merge=True)
        for goal_id in goals:
            fx.schedule("deactivate_goal", {"goal_id": goal_id, "reason": "session_ended"}, at=clock.now())
        return session, goals

    try:
        return steps.run(f"end_session:{session_id}", body, redelivered=False)
    except AlreadyApplied:
        raise Conflict(f"session {session_id} has already ended", code="session_ended") from None
