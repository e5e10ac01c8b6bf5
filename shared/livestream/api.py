"""HTTP routes of the sessions surface."""
from __future__ import annotations

from shared.accounts import service as accounts
from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.livestream import pay, sessions, sources
from shared.livestream.models import Payment, PayRequest, Session, SessionCreate, SessionEnding, SessionView
from shared.realtime import headcount

SURFACE = REGISTRY.surface("sessions", FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=50,
                                                       secrets=("JWT_SECRET", "PUSHER_SECRET", "TASK_SECRET")))
route = REGISTRY.route
SESSION = REGISTRY.owner("session", "session_id", lambda session_id: {sessions.load(session_id).user_id})


@route("POST", "/sessions", surface=SURFACE, scope="role:creator", body=SessionCreate,
       response=Session, status=201, idempotent=True, summary="Start a livestream session (one active per streamer)")
def start_session(call: Call) -> Session:
    accounts.require_may_earn(call.caller.user_id)  # seed 004: a tw streamer is verified first
    return sessions.start(call.caller.user_id, call.body.title, call.body.prices, call.client_key)


@route("GET", "/sessions/{session_id}", surface=SURFACE, response=SessionView,
       summary="Read a session, with its live head-count")
def get_session(call: Call) -> SessionView:
    session = sessions.load(call.params["session_id"])
    count = headcount.head_count(session.user_id) if session.active else 0
    return SessionView(**session.model_dump(), head_count=count)


@route("DELETE", "/sessions/{session_id}", surface=SURFACE, scope="role:creator", owner=SESSION, response=SessionEnding,
       summary="End a session; the goals still active in it end too")
def end_session(call: Call) -> SessionEnding:
    session, goals = sessions.end(call.caller.user_id, call.params["session_id"])
    return SessionEnding(session=session, ending_goals=goals)


@route("POST", "/streams/{streamer_id}/pay", surface=SURFACE, body=PayRequest, response=Payment, status=201,
       idempotent=True, summary="Pay for seconds of the streamer's paid stream (preset sd): diamonds to the "
                                "streamer, the viewer's window in session.viewers extended, stream.authorized")
def pay_for_stream(call: Call) -> Payment:
    return pay.pay(call.caller.user_id, call.params["streamer_id"], call.body, call.client_key)


@route("POST", "/sessions/{session_id}/sources", surface=SURFACE, scope="role:creator", owner=SESSION,
       body=sources.SourceCreate,
       response=sources.Source, status=201, idempotent=True,
       summary="Register an RTC source of the session (room id, kind such as phone or OBS); its snapshots start")
def register_source(call: Call) -> sources.Source:
    return sources.register(call.caller.user_id, call.params["session_id"], call.body, call.client_key)


@route("GET", "/sessions/{session_id}/sources", surface=SURFACE, scope="role:creator", owner=SESSION,
       response=sources.Sources,
       summary="The session's RTC sources and the state of their snapshots")
def list_sources(call: Call) -> sources.Sources:
    sessions.load_owned(call.params["session_id"], call.caller.user_id)
    return sources.Sources(sources=sources.of_session(call.params["session_id"]))
