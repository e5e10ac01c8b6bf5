"""Starting, reading and ending sessions. One active session per streamer, kept by `streamers/{id}`.

Only this feature writes sessions. Other features change what they keep on a session through
the named functions at the end (goals open and close, pre-sales bind to the session's pairs)
and hear of its end through the `session.ended` signal.
"""
from __future__ import annotations

from shared import access_cache
from shared.core import clock, firestore, ids, steps
from shared.core.errors import AlreadyApplied, Conflict, NotFound
from shared.core.firestore import Txn, array_remove, array_union, changes, db
from shared.livestream.models import (
    DEFAULT_PRICES,
    ExclusiveGoalPair,
    ExclusiveStatus,
    Session,
    SessionEnded,
    SessionStarted,
    ShowGoalPair,
    Statuses,
    ViewerWindow,
)
from shared.livestream.signals import SESSION_ENDED, SESSION_STARTED

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


def load(session_id: str, txn: Txn | None = None) -> Session:
    return firestore.load(session_ref(session_id), Session, "session", txn)


def load_owned(session_id: str, user_id: str, txn: Txn | None = None) -> Session:
    """The session if `user_id` streams it; anyone else is told it does not exist."""
    session = load(session_id, txn)
    if session.user_id != user_id:
        raise NotFound(f"session {session_id} not found", code="session_not_found")
    return session


def _active_session_of(user_id: str, txn: Txn | None = None) -> None:
    snap = _streamer_ref(user_id).get(transaction=txn)
    active_id = snap.get("active_session_id") if snap.exists else None
    if active_id:
        raise SessionAlreadyActive("you already have an active session", details={"session_id": active_id})


def active_session_id(streamer_id: str, txn: Txn | None = None) -> str:
    """The streamer's active session (seed `authorize_livestream`), or a 404 when they are not live."""
    snap = _streamer_ref(streamer_id).get(transaction=txn)
    session_id = snap.get("active_session_id") if snap.exists else None
    if not session_id:
        raise NotFound(f"streamer {streamer_id} is not live", code="stream_not_live")
    return session_id


def start(user_id: str, title: str | None, prices: dict[str, int] | None = None,
          client_key: steps.ClientKey | None = None) -> Session:
    session = Session(id=ids.new_id(), user_id=user_id, title=title, active=True,
                      statuses=Statuses(created=clock.now()), prices={**DEFAULT_PRICES, **(prices or {})})

    def body(txn: Txn, fx: steps.Effects) -> Session:
        _active_session_of(user_id, txn)
        txn.create(session_ref(session.id), firestore.document(session))
        txn.set(_streamer_ref(user_id), {"active_session_id": session.id}, merge=True)
        fx.publish(SESSION_STARTED, SessionStarted(session_id=session.id, streamer_id=user_id,
                                                   started_at=session.statuses.created))
        return session

    return steps.run(f"start_session:{session.id}", body, redelivered=False, claim=f"streamer:{user_id}",
                     precheck=lambda: _active_session_of(user_id), client_key=client_key)


def end(user_id: str, session_id: str) -> tuple[Session, list[str]]:
    """End the session; the goals still open in it are ended by the goals feature on `session.ended`."""
    load_owned(session_id, user_id)  # 404 for anyone else before any state is looked at

    def body(txn: Txn, fx: steps.Effects):
        session = load(session_id, txn)
        if not session.active:
            raise Conflict(f"session {session_id} has already ended", code="session_ended")
        now = clock.now()
        ended = session.model_copy(update={"active": False,
                                           "statuses": Statuses(created=session.statuses.created, ended=now)})
        txn.update(session_ref(session_id), changes(session, ended))
        txn.set(_streamer_ref(user_id), {"active_session_id": None}, merge=True)
        access_cache.invalidate_get_session_token_view_cache(txn, session_id)  # nobody watches an ended session
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


def goal_opened(txn: Txn, session_id: str, goal_id: str) -> None:
    txn.update(session_ref(session_id), {"open_goals": array_union([goal_id])})


def goal_closed(txn: Txn, session_id: str, goal_id: str) -> None:
    txn.update(session_ref(session_id), {"open_goals": array_remove([goal_id])})


def bind_funding_goal(txn: Txn, session_id: str, goal_id: str, funding_ended: float | None) -> Session | None:
    """Seed `bind_show_goals_to_session`: add the pre-sale's pair. The session it was bound to, or
    None when it was bound already (a transaction reads nothing after it writes: ask here)."""
    session = load(session_id, txn)
    if session.pair_for(goal_id):
        return None
    pairs = [*session.show_goal_pairs, ShowGoalPair(funding_goal=goal_id, funding_ended=funding_ended)]
    txn.update(session_ref(session_id), {"show_goal_pairs": [p.model_dump() for p in pairs]})
    return session


def stamp_funding_ended(txn: Txn, session_id: str, goal_id: str, at: float) -> bool:
    """Seed `set_embedded_goal_ended`: stamp the pair's `funding_ended`; False when there is nothing to stamp."""
    return _set_once(txn, session_id, goal_id, "funding_ended", at)


def bind_show_goal(txn: Txn, session_id: str, funding_goal: str, show_goal: str) -> bool:
    """The pair of a pre-sale gets its show; False when there is no pair or it has one already."""
    return _set_once(txn, session_id, funding_goal, "show_goal", show_goal)


def _set_once(txn: Txn, session_id: str, funding_goal: str, field: str, value) -> bool:
    session = load(session_id, txn)
    pair = session.pair_for(funding_goal)
    if pair is None or getattr(pair, field) is not None:
        return False
    setattr(pair, field, value)
    txn.update(session_ref(session_id), {"show_goal_pairs": [p.model_dump() for p in session.show_goal_pairs]})
    return True


def show_goal_of(session_id: str, funding_goal: str, txn: Txn | None = None) -> str | None:
    pair = load(session_id, txn).pair_for(funding_goal)
    return pair.show_goal if pair else None


# --- 1-on-1 sessions: what the goals feature keeps on a session (seeds 001, 003) --------------


class ExclusiveBusy(Conflict):
    code = "exclusive_in_progress"


def invite_exclusive(txn: Txn, session_id: str, viewer_id: str, goal_id: str) -> None:
    """Seed `bind_trigger_private_goal_to_session`: the viewer's invitation, in its pair (the
    caller checked, reading the session in the same transaction, that the viewer may invite)."""
    pair = ExclusiveGoalPair(trigger_exclusive_goal=goal_id)
    txn.update(session_ref(session_id), {f"exclusive_goal_pairs.{viewer_id}": pair.model_dump()})


def agree_exclusive(txn: Txn, session: Session, viewer_id: str) -> None:
    """The streamer agreed to `viewer_id`'s invitation: the 1-on-1 is theirs (`status.exclusive_to`).
    `session` was read in this transaction, so two agreements racing have one winner."""
    busy = [v for v in session.status.exclusive_to if v != viewer_id]
    if busy:
        raise ExclusiveBusy("the streamer is already in a 1-on-1", details={"exclusive_to": busy})
    txn.update(session_ref(session.id), {"status.exclusive_to": [viewer_id]})


def stamp_invitation_ended(txn: Txn, session_id: str, viewer_id: str, goal_id: str, ended: float,
                           agreed: float | None) -> bool:
    """Seed `set_embedded_goal_ended`: the pair's invitation ended (and was agreed at `agreed`).
    False when the pair holds another invitation or was stamped already."""
    pair = load(session_id, txn).exclusive_goal_pairs.get(viewer_id)
    if pair is None or pair.trigger_exclusive_goal != goal_id or pair.trigger_exclusive_goal_ended is not None:
        return False
    txn.update(session_ref(session_id), {
        f"exclusive_goal_pairs.{viewer_id}.trigger_exclusive_goal_ended": ended,
        f"exclusive_goal_pairs.{viewer_id}.trigger_exclusive_goal_agreed": agreed,
    })
    return True


def pending_invitations(session_id: str, txn: Txn | None = None) -> dict[str, str]:
    """Viewer -> invitation goal of the pairs not answered yet, as far as the session knows."""
    return {viewer: pair.trigger_exclusive_goal for viewer, pair in load(session_id, txn).exclusive_goal_pairs.items()
            if pair.trigger_exclusive_goal_ended is None and pair.exclusive_goal is None}


def drop_invitation(txn: Txn, session_id: str, viewer_id: str, goal_id: str) -> bool:
    """Seed `cleanup_expired_exclusive_goal_pairs`, for one pair: an invitation that ended without
    leading to a 1-on-1 leaves the session (and the viewer may invite again)."""
    session = load(session_id, txn)
    pair = session.exclusive_goal_pairs.get(viewer_id)
    if pair is None or pair.trigger_exclusive_goal != goal_id or pair.exclusive_goal is not None:
        return False
    _release(txn, session, viewer_id)
    return True


def release_agreement(txn: Txn, session: Session, viewer_id: str, goal_id: str) -> None:
    """An invitation refunded without a 1-on-1: its pair leaves, the session is free again, and
    the window its agreement granted is taken back (`session` read in this transaction)."""
    pair = session.exclusive_goal_pairs.get(viewer_id)
    if pair is None or pair.trigger_exclusive_goal != goal_id or pair.exclusive_goal is not None:
        return
    _release(txn, session, viewer_id)
    window = session.viewers.get(viewer_id)
    if pair.window_granted and window is not None:
        shorter = window.shorten(pair.window_granted)
        txn.update(session_ref(session.id), {
            f"viewers.{viewer_id}": shorter.model_dump() if shorter else firestore.delete_field()})
        access_cache.invalidate_get_session_token_view_cache(txn, session.id, viewer_id)


def grant_agreed_window(txn: Txn, session: Session, viewer_id: str, goal_id: str, at: float,
                        seconds: int) -> ViewerWindow | None:
    """Seed `sync_trigger_goal_session_viewer`: the agreed viewer's window grows, once, while the
    agreement stands (its pair remembers the grant, so a refund can take it back)."""
    pair = session.exclusive_goal_pairs.get(viewer_id)
    if pair is None or pair.trigger_exclusive_goal != goal_id or pair.window_granted is not None:
        return None
    txn.update(session_ref(session.id), {f"exclusive_goal_pairs.{viewer_id}.window_granted": seconds})
    return extend_viewer(txn, session, viewer_id, at, seconds)


def bind_exclusive_goal(txn: Txn, session_id: str, viewer_id: str, trigger_goal_id: str,
                        exclusive_goal_id: str) -> bool:
    """Seed `bind_exclusive_goals_to_session`: the pair gets its exclusive goal."""
    pair = load(session_id, txn).exclusive_goal_pairs.get(viewer_id)
    if pair is None or pair.trigger_exclusive_goal != trigger_goal_id or pair.exclusive_goal is not None:
        return False
    txn.update(session_ref(session_id), {f"exclusive_goal_pairs.{viewer_id}.exclusive_goal": exclusive_goal_id})
    return True


def exclusive_ended(txn: Txn, session_id: str, viewer_id: str, trigger_goal_id: str, exclusive_goal_id: str) -> bool:
    """The 1-on-1 ended: its pair and `status.exclusive_to` are cleared. Pub/Sub keeps no order, so
    its end may arrive before bind_exclusive_goal: the pair is known by its invitation too."""
    session = load(session_id, txn)
    pair = session.exclusive_goal_pairs.get(viewer_id)
    if pair is None or pair.trigger_exclusive_goal != trigger_goal_id or \
            pair.exclusive_goal not in (None, exclusive_goal_id):
        return False
    _release(txn, session, viewer_id)
    return True


def _release(txn: Txn, session: Session, viewer_id: str) -> None:
    status = ExclusiveStatus(exclusive_to=[v for v in session.status.exclusive_to if v != viewer_id])
    txn.update(session_ref(session.id), {f"exclusive_goal_pairs.{viewer_id}": firestore.delete_field(),
                                         "status": status.model_dump()})


def extend_viewer(txn: Txn, session: Session, viewer_id: str, at: float, seconds: int) -> ViewerWindow:
    """Seed `sync_trigger_goal_session_viewer` and `/pay`: the viewer's window grows by `seconds`
    (`session` read in this transaction)."""
    window = ViewerWindow.extend(session.viewers.get(viewer_id), at, seconds)
    txn.update(session_ref(session.id), {f"viewers.{viewer_id}": window.model_dump()})
    access_cache.invalidate_get_session_token_view_cache(txn, session.id, viewer_id)  # a token to the new end
    return window
