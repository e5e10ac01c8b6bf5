"""Cached answers about who may watch a session's paid stream, dropped whenever that changes.

Per session and viewer, `access_cache/{session_id}/viewers/{viewer_id}` keeps the answer of
GET /streams/{session_id}/token (the seeds' LIVESTREAM_TOKEN_CACHE_KEY) and the sd channel's data
(seed: the cached Pusher channel data), each until it would lapse. The transactions that change
who may watch bump a generation, the viewer's or the whole session's
(`invalidate_get_session_token_view_cache`), and an answer kept under an older generation is never
served. A reader stores what it computed only while the generations it started from still hold,
so an invalidation racing a reader is not undone by the reader's stale answer.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.core import clock
from shared.core.firestore import db, increment, run_transaction

CACHE, VIEWERS = "access_cache", "viewers"
TOKEN_VIEW, CHANNEL_DATA = "token_view", "channel_data"


def _session_ref(session_id: str):
    return db().collection(CACHE).document(session_id)


def _viewer_ref(session_id: str, viewer_id: str):
    return _session_ref(session_id).collection(VIEWERS).document(viewer_id)


@dataclass(frozen=True)
class Seen:
    """The cache as a reader found it: the generations its answer will be checked against."""

    session_generation: int
    viewer_generation: int
    entry: dict

    def hit(self, kind: str) -> dict | None:
        kept = self.entry.get(kind)
        if kept and kept["session_generation"] == self.session_generation and kept["valid_until"] > clock.now():
            return kept["value"]
        return None


def _generations(session_snap, viewer_snap) -> Seen:
    session = session_snap.to_dict() if session_snap.exists else {}
    viewer = viewer_snap.to_dict() if viewer_snap.exists else {}
    return Seen(session.get("generation", 0), viewer.get("generation", 0), viewer)


def read(session_id: str, viewer_id: str) -> Seen:
    refs = [_session_ref(session_id), _viewer_ref(session_id, viewer_id)]
    snaps = {snap.reference.path: snap for snap in db().get_all(refs)}  # one round trip for both
    return _generations(snaps[refs[0].path], snaps[refs[1].path])


def store(session_id: str, viewer_id: str, kind: str, value: dict, valid_until: float, seen: Seen) -> bool:
    """Keep `value` unless who may watch changed since `seen` was read; True when kept."""
    def body(txn) -> bool:
        now = _generations(_session_ref(session_id).get(transaction=txn),
                           _viewer_ref(session_id, viewer_id).get(transaction=txn))
        if (now.session_generation, now.viewer_generation) != (seen.session_generation, seen.viewer_generation):
            return False
        txn.set(_viewer_ref(session_id, viewer_id), {kind: {
            "value": value, "valid_until": valid_until, "session_generation": seen.session_generation}}, merge=True)
        return True

    return run_transaction(body)


def invalidate_get_session_token_view_cache(txn, session_id: str, viewer_id: str | None = None) -> None:
    """Inside the transaction that changes who may watch (writes only: call it after the reads).
    One viewer's answers, or with `viewer_id` None every viewer's of the session."""
    if viewer_id is None:
        txn.set(_session_ref(session_id), {"generation": increment(1)}, merge=True)
    else:
        txn.set(_viewer_ref(session_id, viewer_id),
                {"generation": increment(1), TOKEN_VIEW: None, CHANNEL_DATA: None}, merge=True)
