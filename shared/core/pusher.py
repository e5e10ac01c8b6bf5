"""Pusher adapter: the seeds' channel names, events under 10 KB, triggered after commit only."""
from __future__ import annotations

import functools
import json

from shared.core.config import settings
from shared.core.errors import Unauthorized, ValidationFailed

MAX_EVENT_BYTES = 10 * 1024
MAX_CHANNELS_PER_CALL = 100


class PusherError(RuntimeError):
    pass


def stream_channels(streamer_id: str) -> list[str]:
    """The three channels that carry a streamer's goal events (seed 000, `trigger_notify_goal_added`)."""
    return [f"private-stream@{streamer_id}", room_channel(streamer_id), f"private-user@{streamer_id}"]


def viewer_preview_channel(streamer_id: str, viewer_id: str) -> str:
    """The viewer's own channel in a streamer's room (seed 001): `stream.authorized` goes there."""
    return f"presence-stream-viewer@{streamer_id}.preview.{viewer_id}"


def user_channel(user_id: str) -> str:
    return f"private-user@{user_id}"


@functools.cache
def client():
    import pusher

    s = settings()
    return pusher.Pusher(
        app_id=s.pusher_app_id, key=s.pusher_key, secret=s.pusher_secret,
        host=s.pusher_host, port=s.pusher_port, ssl=s.pusher_ssl, timeout=10,
    )


def encode(data: dict) -> str:
    body = json.dumps(data, separators=(",", ":"))
    if len(body.encode()) > MAX_EVENT_BYTES:
        raise PusherError(f"event data is {len(body.encode())} bytes, over the {MAX_EVENT_BYTES} limit")
    return body


def trigger(channels: list[str], event: str, data: dict) -> None:
    body = encode(data)
    for start in range(0, len(channels), MAX_CHANNELS_PER_CALL):
        response = client().trigger(channels[start:start + MAX_CHANNELS_PER_CALL], event, body)
        # soketi answers a bad signature with HTTP 200 and an error body
        if isinstance(response, dict) and response.get("error"):
            raise PusherError(f"pusher refused {event}: {response['error']}")


def room_channel(streamer_id: str) -> str:
    """The streamer's room: its presence members are the live head-count (shared/realtime/headcount.py)."""
    return f"presence-stream@{streamer_id}"


def members(channel: str) -> set[str]:
    """The user ids subscribed to a presence channel now, from Pusher's HTTP API."""
    response = client().users_info(channel)
    if not isinstance(response, dict) or not isinstance(response.get("users"), list):
        raise PusherError(f"pusher did not list the members of {channel}: {response!r}")
    return {str(user["id"]) for user in response["users"]}


def authenticate(channel: str, socket_id: str, presence: dict | None = None) -> dict:
    """What a client sends to subscribe to a private or presence channel: {"auth"[, "channel_data"]}."""
    return client().authenticate(channel=channel, socket_id=socket_id, custom_data=presence)


def verify_webhook(key: str | None, signature: str | None, body: bytes) -> dict:
    """The body of a webhook Pusher signed (X-Pusher-Key, X-Pusher-Signature: HMAC-SHA256 of the body
    with the app secret) within the last 5 minutes, checked by the pusher library; else 401."""
    try:
        data = client().validate_webhook(key, signature, body) if key and signature else None
    except (TypeError, UnicodeDecodeError):  # a header or body that is not text
        data = None
    except AttributeError:  # signed by us, but JSON other than an object: the library reads .get of it
        raise ValidationFailed("the webhook body is not a JSON object") from None
    if data is None:
        raise Unauthorized("the webhook is not signed by our Pusher app, or is stale", code="bad_webhook")
    return data
