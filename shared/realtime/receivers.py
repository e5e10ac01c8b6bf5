"""The maintenance tick checks the head-count of each room someone is in against Pusher's list of
its members, every few minutes a room, so that a webhook lost for good leaves no ghost counted."""
from __future__ import annotations

import logging

from shared.core import pusher
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.maintenance import TICK, Tick
from shared.realtime import headcount

log = logging.getLogger(__name__)
CHECKER = FunctionOptions(memory="256Mi", cpu="0.167", timeout=300, max_instances=1, secrets=("PUSHER_SECRET",))


@REGISTRY.receiver(TICK, step=False, options=CHECKER)
def check_room_head_counts(tick: Tick) -> str:
    """Idempotent by nature: a check sets what Pusher lists, and a room just checked is not due."""
    checked = corrected = 0
    for streamer in headcount.rooms_due():
        try:
            members = pusher.members(pusher.room_channel(streamer))
        except Exception as trouble:  # one room's trouble does not keep the others unchecked; the next tick retries it
            log.warning("could not list the members of %s's room: %s", streamer, trouble)
            continue
        corrected += headcount.check_room(streamer, members)
        checked += 1
    return f"checked {checked} rooms, corrected {corrected} viewers"
