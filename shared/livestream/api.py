"""HTTP routes of the sessions surface."""
from __future__ import annotations

from shared.core.http import Call
from shared.core.registry import REGISTRY
from shared.livestream import sessions
from shared.livestream.models import Session, SessionCreate, SessionEnded

route = REGISTRY.route


@route("POST", "/sessions", surface="sessions", scope="role:creator", body=SessionCreate,
       response=Session, status=201, summary="Start a livestream session (one active per streamer)")
def start_session(call: Call) -> Session:
    return sessions.start(call.principal.user_id, call.body.title)


@route("GET", "/sessions/{session_id}", surface="sessions", response=Session, summary="Read a session")
def get_session(call: Call) -> Session:
    return sessions.load(call.params["session_id"])


@route("DELETE", "/sessions/{session_id}", surface="sessions", scope="role:creator", response=SessionEnded,
       summary="End a session and every goal still active in it")
def end_session(call: Call) -> SessionEnded:
    session, goals = sessions.end(call.principal.user_id, call.params["session_id"])
    return SessionEnded(session=session, ending_goals=goals)
