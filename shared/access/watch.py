"""Who may watch a streamer's paid (sd) stream (seed 004, "Who is authorized to earn sd token?"):
the one decision the channel authorization (and the stream token) ask.

    A  a ticket buyer of the funding goal of the session's latest show pair
    B  a payer inside their window in `session.viewers`
    C  the holder of an active livestream pass: `user.tagsv2.livestream_pass` (every streamer) or
       `livestream_pass_{streamer_id}`, inside its nbf/exp
The streamer always may.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.accounts import service as accounts
from shared.backpack.models import GLOBAL_PASS, pass_tag
from shared.core import clock
from shared.core.errors import NotFound
from shared.goals import sales
from shared.livestream import sessions


@dataclass(frozen=True)
class Admission:
    session_id: str
    because: str  # streamer, paid, ticket, pass
    until: float | None  # None: while the session lasts


def paid_stream(streamer_id: str, viewer_id: str) -> Admission | None:
    """Why `viewer_id` may watch `streamer_id`'s paid stream now, or None."""
    try:
        session = sessions.load(sessions.active_session_id(streamer_id))
    except NotFound:
        return None
    if not session.active:
        return None
    if viewer_id == streamer_id:
        return Admission(session.id, "streamer", None)
    window = session.viewers.get(viewer_id)
    if window is not None and window.nbf <= clock.now() < window.exp:
        return Admission(session.id, "paid", window.exp)
    if session.show_goal_pairs and sales.holds_ticket(session.show_goal_pairs[-1].funding_goal, viewer_id):
        return Admission(session.id, "ticket", None)
    if held := accounts.active_tag(viewer_id, [pass_tag(streamer_id), GLOBAL_PASS]):
        return Admission(session.id, "pass", held[1].exp)
    return None
