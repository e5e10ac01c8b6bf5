"""HTTP route of karaoke goals: the session's streamer marks the running one done, or skips one."""
from __future__ import annotations

from typing import Literal, cast

from shared.core.http import Call
from shared.core.registry import REGISTRY
from shared.goals import karaoke
from shared.goals.api import CREATOR, GOAL, SURFACE
from shared.goals.models import KaraokeGoal


@REGISTRY.route("POST", "/goals/{goal_id}/karaoke/{action}", surface=SURFACE, scope=CREATOR, owner=GOAL,
                params={"action": "done|skip"}, response=KaraokeGoal, errors=(409,),
                summary="The streamer ends a karaoke goal: done (the running one, early; its diamonds are paid "
                        "out) or skip (queued or running; refunded to its sender). The next queued one starts "
                        "when the running one ends. 409 goal_ended once it has ended.")
def end_karaoke(call: Call) -> KaraokeGoal:
    principal = call.caller
    action = cast(Literal["done", "skip"], call.params["action"])  # params= lets only done|skip through
    return karaoke.finish(call.params["goal_id"], principal.user_id, action, principal.client_id)
