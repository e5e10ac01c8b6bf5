"""HTTP routes of the leaderboards: a session's top supporters, a streamer's per day, week, all time."""
from __future__ import annotations

from shared.core import clock
from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.leaderboards import service
from shared.leaderboards.models import Leaderboard, LeaderboardQuery, StreamerLeaderboardQuery
from shared.livestream import sessions

SURFACE = REGISTRY.surface("leaderboards", FunctionOptions(memory="256Mi", cpu="1", concurrency=16,
                                                           max_instances=50, secrets=("JWT_SECRET",)))
route = REGISTRY.route


@route("GET", "/sessions/{session_id}/leaderboard", surface=SURFACE, query=LeaderboardQuery, response=Leaderboard,
       summary="A session's top supporters: the diamonds each viewer spent in it, net of refunds, highest first")
def session_leaderboard(call: Call) -> Leaderboard:
    session = sessions.load(call.params["session_id"])
    return service.session_board(session.id, session.user_id, call.query.limit)


@route("GET", "/streamers/{streamer_id}/leaderboard", surface=SURFACE, query=StreamerLeaderboardQuery,
       response=Leaderboard, summary="A streamer's top supporters today, this ISO week (UTC; or those holding "
                                     "`date`) or of all time, net of refunds, highest first")
def streamer_leaderboard(call: Call) -> Leaderboard:
    query = call.query
    return service.streamer_board(call.params["streamer_id"], query.period, query.date or clock.now(), query.limit)
