"""Starting, reading and ending sessions. One active session per streamer, kept by `streamers/{id}`.

Only this feature writes sessions. Other features change what they keep on a session through
the named functions at the end (goals open and close, pre-sales bind to the session's pairs)
and hear of its end through the `session.ended` signal.
"""
from __future__ import annotations

from shared.core import clock, firestore, ids, steps
from shared.core.errors import AlreadyApplied, Conflict, NotFound
from shared.core.firestore import array_remove, array_union, changes, db
from shared.livestream.models import Session, SessionEnded, ShowGoalPair, Statuses
from shared.livestream.signals import SESSION_ENDED

SESSIONS = "sessions"
STREAMERS = "streamers"


class SessionAlreadyActive(Conflict):
    code = "session_already_active"


class SessionNotActive(Conflict):
    code = "session_not_active"


def session_ref(session_id: str):
    return db().collection(SESSIONS).document(session_id)


def _streamer_ref(user_id: str):
    return db().collection(STREAMERS).document(user_id)


def load(session_id: str, txn=None) -> Session:
    return firestore.load(session_ref(session_id), Session, "session", txn)


def load_owned(session_id: str, user_id: str, txn=None) -> Session:
    """The session if `user_id` streams it; anyone else is told it does not exist."""
    session = load(session_id, txn)
    if session.user_id != user_id:
        raise NotFound(f"session {session_id} not found", code="session_not_found")
    return session


def _active_session_of(user_id: str, txn=None) -> None:
    snap = _streamer_ref(user_id).get(transaction=txn)
    active_id = snap.get("active_session_id") if snap.exists else None
    if active_id:
        raise SessionAlreadyActive("you already have an active session", details={"session_id": active_id})


def start(user_id: str, title: str | None, client_key: steps.ClientKey | None = None) -> Session:
    session = Session(id=ids.new_id(), user_id=user_id, title=title, active=True, statuses=Statuses(created=clock.now()))

    def body(txn, fx: steps.Effects) -> Session:
        _active_session_of(user_id, txn)
        txn.create(session_ref(session.id), firestore.document(session))
        txn.set(_streamer_ref(user_id), {"active_session_id": session.id}, merge=True)
        return session

    return steps.run(f"start_session:{session.id}", body, redelivered=False, claim=f"streamer:{user_id}",
                     precheck=lambda: _active_session_of(user_id), client_key=client_key)


def end(user_id: str, session_id: str) -> tuple[Session, list[str]]:
    """End the session; the goals still open in it are ended by the goals feature on `session.ended`."""
    load_owned(session_id, user_id)  # 404 for anyone else before any state is looked at

    def body(txn, fx: steps.Effects):
        session = load(session_id, txn)
        if not session.active:
            raise Conflict(f"session {session_id} has already ended", code="session_ended")
        now = clock.now()
        ended = session.model_copy(update={"active": False, "statuses": Statuses(created=session.statuses.created, ended=now)})
        txn.update(session_ref(session_id), changes(session, ended))
        txn.set(_streamer_ref(user_id), {"active_session_id": None}, merge=True)
        fx.publish(SESSION_ENDED, SessionEnded(session_id=session_id, streamer_id=user_id, ended_at=now))
        return ended, list(session.open_goals)

    try:
        return steps.run(f"end_session:{session_id}", body, redelivered=False, claim=f"session:{session_id}")
    except AlreadyApplied:
        raise Conflict(f"session {session_id} has already ended", code="session_ended") from None


# --- what other features ask of a session (inside their own steps) ---------------------------


def require_active(session: Session) -> None:
    if not session.active:
        raise SessionNotActive(f"session {session.id} has ended")


def goal_opened(txn, session_id: str, goal_id: str) -> None:
    txn.update(session_ref(session_id), {"open_goals": array_union([goal_id])})


def goal_closed(txn, session_id: str, goal_id: str) -> None:
    txn.update(session_ref(session_id), {"open_goals": array_remove([goal_id])})


def bind_funding_goal(txn, session_id: str, goal_id: str, funding_ended: float | None) -> Session | None:
    """Seed `bind_show_goals_to_session`: add the pre-sale's pair. The session it was bound to, or
    None when it was bound already (a transaction reads nothing after it writes: ask here)."""
    session = load(session_id, txn)
    if session.pair_for(goal_id):
        return None
    pairs = [*session.show_goal_pairs, ShowGoalPair(funding_goal=goal_id, funding_ended=funding_ended)]
    txn.update(session_ref(session_id), {"show_goal_pairs": [p.model_dump() for p in pairs]})
    return session


def stamp_funding_ended(txn, session_id: str, goal_id: str, at: float) -> bool:
    """Seed `set_embedded_goal_ended`: stamp the pair's `funding_ended`; False when there is nothing to stamp."""
    return _set_once(txn, session_id, goal_id, "funding_ended", at)


def bind_show_goal(txn, session_id: str, funding_goal: str, show_goal: str) -> bool:
    """The pair of a pre-sale gets its show; False when there is no pair or it has one already."""
    return _set_once(txn, session_id, funding_goal, "show_goal", show_goal)


def _set_once(txn, session_id: str, funding_goal: str, field: str, value) -> bool:
    session = load(session_id, txn)
    pair = session.pair_for(funding_goal)
    if pair is None or getattr(pair, field) is not None:
        return False
    setattr(pair, field, value)
    txn.update(session_ref(session_id), {"show_goal_pairs": [p.model_dump() for p in session.show_goal_pairs]})
    return True


def show_goal_of(session_id: str, funding_goal: str, txn=None) -> str | None:
    pair = load(session_id, txn).pair_for(funding_goal)
    return pair.show_goal if pair else None
