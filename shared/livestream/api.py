"""HTTP routes of the sessions surface."""
from __future__ import annotations

from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.livestream import sessions
from shared.livestream.models import Session, SessionCreate, SessionEnding

SURFACE = REGISTRY.surface("sessions", FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=50,
                                                       secrets=("JWT_SECRET",)))
route = REGISTRY.route


@route("POST", "/sessions", surface=SURFACE, scope="role:creator", body=SessionCreate,
       response=Session, status=201, idempotent=True, summary="Start a livestream session (one active per streamer)")
def start_session(call: Call) -> Session:
    return sessions.start(call.principal.user_id, call.body.title, call.client_key)


@route("GET", "/sessions/{session_id}", surface=SURFACE, response=Session, summary="Read a session")
def get_session(call: Call) -> Session:
    return sessions.load(call.params["session_id"])


@route("DELETE", "/sessions/{session_id}", surface=SURFACE, scope="role:creator", response=SessionEnding,
       summary="End a session; the goals still active in it end too")
def end_session(call: Call) -> SessionEnding:
    session, goals = sessions.end(call.principal.user_id, call.params["session_id"])
    return SessionEnding(session=session, ending_goals=goals)
