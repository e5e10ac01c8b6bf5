"""The RTC token of a session's paid (sd) stream (seed 004, "How user get byteplus_token"):
way one in the sd channel's presence data, way two from GET /streams/{session_id}/token. Both
ask watch.paid_stream and keep their answer in the access cache until it would lapse.

The token is a BytePlus RTC AccessToken for room = the session, user = the viewer, subscribe
only, expiring with the admission (a paid window's end) and at most TOKEN_SECONDS from now.
"""
from __future__ import annotations

import math
import secrets

from pydantic import BaseModel

from shared import access_cache as cache
from shared.access import watch
from shared.access.watch import Admission
from shared.core import clock
from shared.core.config import settings
from shared.core.errors import Forbidden, NotFound
from shared.livestream import sessions
from shared.rtc import access_token

TOKEN_SECONDS = 3600
FRESH_FOR = 60  # seconds a cached token must still have: a client is never handed one about to lapse


class StreamToken(BaseModel):
    app_id: str
    room_id: str
    user_id: str
    token: str
    expires_at: int
    because: str  # streamer, paid, ticket, pass


def _token(session_id: str, viewer_id: str, admission: Admission) -> StreamToken:
    now = clock.now()
    expires = int(min(now + TOKEN_SECONDS, admission.until or math.inf))
    s = settings()
    token = access_token.viewer_token(s.rtc_app_id, s.rtc_app_key, session_id, viewer_id, expire_at=expires,
                                      issued_at=int(now), nonce=secrets.randbits(32))
    return StreamToken(app_id=s.rtc_app_id, room_id=session_id, user_id=viewer_id, token=token, expires_at=expires,
                       because=admission.because)


def _admitted(streamer_id: str, session_id: str, viewer_id: str) -> Admission:
    admission = watch.paid_stream(streamer_id, viewer_id)
    if admission is None or admission.session_id != session_id:
        raise Forbidden("you may not watch this paid stream now", code="not_authorized")
    return admission


def stream_token(session_id: str, viewer_id: str) -> StreamToken:
    """Way two: the token for a viewer who may watch the session now, else 403."""
    seen = cache.read(session_id, viewer_id)
    if kept := seen.hit(cache.TOKEN_VIEW):
        return StreamToken(**kept)
    session = sessions.load(session_id)
    view = _token(session_id, viewer_id, _admitted(session.user_id, session_id, viewer_id))
    cache.store(session_id, viewer_id, cache.TOKEN_VIEW, view.model_dump(), view.expires_at - FRESH_FOR, seen)
    return view


def channel_data(streamer_id: str, viewer_id: str) -> dict | None:
    """Way one: what the sd channel's presence data adds for a viewer who may watch (the token),
    or None for one who may not."""
    try:
        session_id = sessions.active_session_id(streamer_id)
    except NotFound:  # not live: nobody watches
        return None
    seen = cache.read(session_id, viewer_id)
    if kept := seen.hit(cache.CHANNEL_DATA):
        return kept
    try:
        view = _token(session_id, viewer_id, _admitted(streamer_id, session_id, viewer_id))
    except Forbidden:
        return None
    data = {"byteplus_token": view.token, "room_id": view.room_id, "app_id": view.app_id,
            "expires_at": view.expires_at}
    cache.store(session_id, viewer_id, cache.CHANNEL_DATA, data, view.expires_at - FRESH_FOR, seen)
    return data
