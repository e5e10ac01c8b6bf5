"""The live head-count follows real websocket clients: the local Pusher server sends its webhooks
to the local API as the stack configures it, and GET /sessions/{id} shows who is in the room."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import auth, socket
from tests.support import User, start_session, wait_until

pytestmark = pytest.mark.stack


def join(api, user, streamer):
    sock = socket()
    channel = f"presence-stream@{streamer.id}"
    answer = auth(api, user, sock, channel)
    assert answer.status_code == 200, answer.text
    sock.subscribe(channel, answer.json())
    return sock


def test_the_head_count_follows_the_connected_viewers(api, streamer):
    session = start_session(api, streamer)
    a, b, c = User.new(), User.new(), User.new()

    def shown() -> int:
        return api.call("GET", f"/sessions/{session['id']}", a).json()["head_count"]

    def becomes(n: int, what: str) -> None:
        wait_until(lambda: shown() == n, timeout=10, what=what)

    own = join(api, streamer, streamer)  # the streamer is not counted in their own room
    a_phone, a_laptop, b_phone = join(api, a, streamer), join(api, a, streamer), join(api, b, streamer)
    becomes(2, "two viewers, one of them on two devices")
    a_phone.close()  # a is still there on the laptop: a stays counted
    c_phone = join(api, c, streamer)
    becomes(3, "c to join while a stays on the laptop")
    b_phone.close()
    c_phone.close()
    becomes(1, "b and c to leave")
    a_laptop.close()
    becomes(0, "a to leave")
    own.close()
    b_back = join(api, b, streamer)
    becomes(1, "b to come back into the emptied room")
    b_back.close()
    becomes(0, "the room to empty")
