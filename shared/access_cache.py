"""Cached answers about who may watch a session's paid stream, dropped whenever that changes.

Per session and viewer, `access_cache/{session_id}/viewers/{viewer_id}` keeps the answer of
GET /streams/{session_id}/token (the seeds' LIVESTREAM_TOKEN_CACHE_KEY) and the sd channel's data
(seed: the cached Pusher channel data), each until it would lapse. The transactions that change
who may watch bump a generation, the viewer's or the whole session's
(`invalidate_get_session_token_view_cache`), or the viewer's in every session (a revoked pass:
`invalidate_viewer_everywhere`), and an answer kept under an older generation is never served. A
reader stores what it computed only while the generations it started from still hold, so an
invalidation racing a reader is not undone by the reader's stale answer.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.core import clock
from shared.core.firestore import Txn, db, increment, run_transaction

CACHE, VIEWERS, USERS = "access_cache", "viewers", "access_cache_users"
TOKEN_VIEW, CHANNEL_DATA = "token_view", "channel_data"


def _session_ref(session_id: str):
    return db().collection(CACHE).document(session_id)


def _viewer_ref(session_id: str, viewer_id: str):
    return _session_ref(session_id).collection(VIEWERS).document(viewer_id)


def _user_ref(viewer_id: str):
    return db().collection(USERS).document(viewer_id)


@dataclass(frozen=True)
class Seen:
    """The cache as a reader found it: the generations its answer will be checked against."""

    session_generation: int
    viewer_generation: int
    user_generation: int
    entry: dict

    def hit(self, kind: str) -> dict | None:
        kept = self.entry.get(kind)
        if (kept and kept["session_generation"] == self.session_generation
                and kept.get("user_generation", 0) == self.user_generation and kept["valid_until"] > clock.now()):
            return kept["value"]
        return None

    @property
    def generations(self) -> tuple[int, int, int]:
        return self.session_generation, self.viewer_generation, self.user_generation


def _generation(snap) -> int:
    return (snap.to_dict() or {}).get("generation", 0) if snap.exists else 0


def _refs(session_id: str, viewer_id: str) -> list:
    return [_session_ref(session_id), _viewer_ref(session_id, viewer_id), _user_ref(viewer_id)]


def _seen(snaps: dict, refs: list) -> Seen:
    session, viewer, user = (snaps[ref.path] for ref in refs)
    return Seen(_generation(session), _generation(viewer), _generation(user), viewer.to_dict() if viewer.exists else {})


def read(session_id: str, viewer_id: str) -> Seen:
    refs = _refs(session_id, viewer_id)
    return _seen({snap.reference.path: snap for snap in db().get_all(refs)}, refs)  # one round trip


def store(session_id: str, viewer_id: str, kind: str, value: dict, valid_until: float, seen: Seen) -> bool:
    """Keep `value` unless who may watch changed since `seen` was read; True when kept."""
    def body(txn: Txn) -> bool:
        refs = _refs(session_id, viewer_id)
        now = _seen({snap.reference.path: snap for snap in txn.get_all(refs)}, refs)
        if now.generations != seen.generations:
            return False
        txn.set(_viewer_ref(session_id, viewer_id), {kind: {
            "value": value, "valid_until": valid_until, "session_generation": seen.session_generation,
            "user_generation": seen.user_generation}}, merge=True)
        return True

    return run_transaction(body)


def invalidate_get_session_token_view_cache(txn: Txn, session_id: str, viewer_id: str | None = None) -> None:
    """Inside the transaction that changes who may watch (writes only: call it after the reads).
    One viewer's answers, or with `viewer_id` None every viewer's of the session."""
    if viewer_id is None:
        txn.set(_session_ref(session_id), {"generation": increment(1)}, merge=True)
    else:
        txn.set(_viewer_ref(session_id, viewer_id),
                {"generation": increment(1), TOKEN_VIEW: None, CHANNEL_DATA: None}, merge=True)


def invalidate_viewer_everywhere(txn: Txn, viewer_id: str) -> None:
    """Inside the transaction that changes what admits the viewer to every session (a pass taken
    back); writes only: call it after the reads."""
    txn.set(_user_ref(viewer_id), {"generation": increment(1)}, merge=True)
