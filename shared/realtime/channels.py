"""Who may subscribe to which Pusher channel (seeds 000-004's channel names), as plain rules.

    private-user@{user}                                   that user only
    private-stream@{streamer}, presence-stream@{streamer} any signed-in user
    presence-stream-viewer@{streamer}.preview.{viewer}    that viewer only
    presence-enc-stream-viewer@{streamer}.sd.{viewer}     that viewer, while they may watch the paid stream
Presence channels carry `user_id` and the user's public info as channel data; the paid stream's
channel adds what `paid_stream` answers (the RTC token: seed 004, "How user get byteplus_token").
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.core.errors import Forbidden

ID = r"[0-9a-f]{24}"
USER = re.compile(rf"private-user@(?P<user>{ID})")
STREAM = re.compile(rf"(?:private|presence)-stream@(?P<streamer>{ID})")
PREVIEW = re.compile(rf"presence-stream-viewer@(?P<streamer>{ID})\.preview\.(?P<viewer>{ID})")
PAID = re.compile(rf"presence-enc-stream-viewer@(?P<streamer>{ID})\.sd\.(?P<viewer>{ID})")
ROOM = re.compile(rf"presence-stream@(?P<streamer>{ID})")  # its members are the room's live head-count


@dataclass(frozen=True)
class Grant:
    presence: dict | None = None  # channel data of a presence channel: {"user_id", "user_info"}


def decide(channel: str, user_id: str, paid_stream: Callable[[str, str], dict | None],
           user_info: dict | None = None) -> Grant:
    """The grant for `user_id` on `channel`, or Forbidden. `paid_stream(streamer, viewer)` answers
    what the viewer's paid-stream channel data adds, or None when they may not watch it now."""
    info: dict[str, Any] = {"user_id": user_id, "user_info": user_info or {"id": user_id}}
    if found := USER.fullmatch(channel):
        _only(found["user"], user_id, channel)
        return Grant()
    if STREAM.fullmatch(channel):
        return Grant(info if channel.startswith("presence-") else None)
    if found := PREVIEW.fullmatch(channel):
        _only(found["viewer"], user_id, channel)
        return Grant(info)
    if found := PAID.fullmatch(channel):
        _only(found["viewer"], user_id, channel)
        paid = paid_stream(found["streamer"], user_id)
        if paid is None:
            raise Forbidden("you may not watch this paid stream now", code="not_authorized",
                            details={"channel": channel})
        return Grant({**info, "user_info": {**info["user_info"], **paid}})
    raise Forbidden("no such channel", code="unknown_channel", details={"channel": channel})


def _only(owner: str, user_id: str, channel: str) -> None:
    if owner != user_id:
        raise Forbidden("this channel is another user's", code="not_your_channel", details={"channel": channel})
