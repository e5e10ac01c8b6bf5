"""The Pusher channel rules as plain code (no Pusher server, no database)."""
from __future__ import annotations

import pytest

from shared.core.errors import Forbidden
from shared.realtime.channels import decide

STREAMER, VIEWER, OTHER = "a" * 24, "b" * 24, "c" * 24


def never(streamer, viewer):
    return None


def always(streamer, viewer):
    return {"byteplus_token": "t"}


@pytest.mark.parametrize("channel, user, may_watch, presence", [
    (f"private-user@{VIEWER}", VIEWER, never, False),
    (f"private-stream@{STREAMER}", OTHER, never, False),
    (f"presence-stream@{STREAMER}", OTHER, never, True),
    (f"presence-stream-viewer@{STREAMER}.preview.{VIEWER}", VIEWER, never, True),
    (f"presence-enc-stream-viewer@{STREAMER}.sd.{VIEWER}", VIEWER, always, True),
])
def test_allowed(channel, user, may_watch, presence):
    grant = decide(channel, user, may_watch)
    assert (grant.presence is not None) == presence
    if presence:
        assert grant.presence["user_id"] == user
        assert ("byteplus_token" in grant.presence["user_info"]) == (".sd." in channel)


@pytest.mark.parametrize("channel, user, may_watch, code", [
    (f"private-user@{VIEWER}", OTHER, always, "not_your_channel"),
    (f"presence-stream-viewer@{STREAMER}.preview.{VIEWER}", OTHER, always, "not_your_channel"),
    (f"presence-enc-stream-viewer@{STREAMER}.sd.{VIEWER}", OTHER, always, "not_your_channel"),
    (f"presence-enc-stream-viewer@{STREAMER}.sd.{VIEWER}", VIEWER, never, "not_authorized"),
    (f"private-user@{VIEWER}x", VIEWER, always, "unknown_channel"),
    ("presence-stream@nobody", VIEWER, always, "unknown_channel"),
    (f"private-encrypted-user@{VIEWER}", VIEWER, always, "unknown_channel"),
])
def test_refused(channel, user, may_watch, code):
    with pytest.raises(Forbidden) as refused:
        decide(channel, user, may_watch)
    assert refused.value.code == code
