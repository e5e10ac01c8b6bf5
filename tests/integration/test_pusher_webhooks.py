"""Pusher's webhooks against the running API: only bodies signed with our app's secret and sent
within 5 minutes are read, and the head-count they keep survives duplicates, late arrivals and
vacancies; Pusher's own list of a room's members (the local Pusher server's) corrects what lost
webhooks left. Bodies are signed here as Pusher signs them (HMAC-SHA256 of the body, hex)."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import time

import pytest

from shared.core import ids, pusher
from shared.core.config import settings
from shared.realtime import headcount
from tests.support import PusherSocket, User, start_session, wait_until

pytestmark = pytest.mark.stack


def now_ms() -> int:
    return int(time.time() * 1000)


def body(events: list[dict], time_ms: int | None = None) -> bytes:
    return json.dumps({"time_ms": time_ms or now_ms(), "events": events}).encode()


def send(api, raw: bytes, *, secret: str | None = None, key: str | None = None, signature: str | None = None):
    signature = signature or hmac.new((secret or settings().pusher_secret).encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Pusher-Key": key or settings().pusher_key,
               "X-Pusher-Signature": signature}
    return api.call("POST", "/pusher/webhooks", data=raw, headers=headers)


def member(name: str, streamer: str, user: str) -> dict:
    return {"name": name, "channel": f"presence-stream@{streamer}", "user_id": user}


def added(streamer: str, user: str) -> dict:
    return member("member_added", streamer, user)


def removed(streamer: str, user: str) -> dict:
    return member("member_removed", streamer, user)


def vacated(streamer: str) -> dict:
    return {"name": "channel_vacated", "channel": f"presence-stream@{streamer}"}


def test_forged_stale_or_unsigned_webhooks_are_refused_and_change_nothing(api):
    t = now_ms()
    streamer, viewer = ids.new_id(), ids.new_id()
    good = body([added(streamer, viewer)])
    refused = [
        send(api, good, secret="not-our-secret"),
        send(api, good, key="another-app-key"),
        send(api, good, signature="0" * 64),
        send(api, good, signature="é" * 64),
        send(api, body([added(streamer, viewer)], t - 301_000)),  # stale
        send(api, body([added(streamer, viewer)], t + 301_000)),  # from the future
        send(api, b"not json"),
        api.call("POST", "/pusher/webhooks", data=good, headers={"Content-Type": "application/json"}),
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(401, "bad_webhook")] * len(refused)
    assert headcount.head_count(streamer) == 0
    # signed but not Pusher's shape: 400, nothing changed
    wrong = send(api, json.dumps({"time_ms": now_ms(), "events": [{"channel": 3}]}).encode())
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "validation_error", wrong.text
    assert send(api, good).json() == {"events": 1, "applied": 1}
    assert headcount.head_count(streamer) == 1


def test_duplicates_and_late_arrivals_change_nothing(api):
    t = now_ms()
    streamer, a, b = ids.new_id(), ids.new_id(), ids.new_id()
    first = body([added(streamer, a), added(streamer, b)], t)
    assert send(api, first).json() == {"events": 2, "applied": 2}
    assert send(api, first).json() == {"events": 2, "applied": 0}  # delivered twice
    assert headcount.head_count(streamer) == 2

    leave = body([removed(streamer, a)], t + 2)
    assert send(api, leave).json()["applied"] == 1
    # a's earlier arrival, delivered late, does not bring a back
    assert send(api, body([added(streamer, a)], t + 1)).json()["applied"] == 0
    assert headcount.head_count(streamer) == 1

    # b leaves and comes back; the two webhooks arrive the wrong way round
    back, gone = body([added(streamer, b)], t + 4), body([removed(streamer, b)], t + 3)
    assert [send(api, back).json()["applied"], send(api, gone).json()["applied"]] == [1, 0]
    assert headcount.head_count(streamer) == 1
    # events of one webhook apply in their order: a joins and leaves within the same millisecond
    assert send(api, body([added(streamer, a), removed(streamer, a)], t + 5)).json()["applied"] == 2
    assert headcount.head_count(streamer) == 1


def test_a_vacancy_empties_the_room_and_bars_older_arrivals(api):
    t = now_ms()
    streamer, a, b, c = ids.new_id(), ids.new_id(), ids.new_id(), ids.new_id()
    occupied = {"name": "channel_occupied", "channel": f"presence-stream@{streamer}"}
    assert send(api, body([occupied, added(streamer, a), added(streamer, b)], t)).json()["applied"] == 3
    assert headcount.head_count(streamer) == 2

    # the members' own removals went missing: the vacancy alone empties the room
    assert send(api, body([vacated(streamer)], t + 10)).json()["applied"] == 3  # the room, a and b
    assert headcount.head_count(streamer) == 0
    assert send(api, body([vacated(streamer)], t + 10)).json()["applied"] == 0
    assert send(api, body([added(streamer, c)], t + 9)).json()["applied"] == 0  # joined before it emptied
    assert send(api, body([added(streamer, c)], t + 11)).json()["applied"] == 1
    assert headcount.head_count(streamer) == 1


def test_only_viewers_of_the_room_are_counted(api):
    streamer, viewer = ids.new_id(), ids.new_id()
    events = [
        added(streamer, streamer),  # the streamer in their own room
        {"name": "member_added", "channel": f"presence-stream-viewer@{streamer}.preview.{viewer}", "user_id": viewer},
        {"name": "member_added", "channel": f"private-stream@{streamer}", "user_id": viewer},
        {"name": "client_event", "channel": f"presence-stream@{streamer}", "event": "client-x", "data": "{}"},
        {"name": "member_added", "channel": f"presence-stream@{streamer}"},  # no user
        added(streamer, viewer),
    ]
    assert send(api, body(events)).json() == {"events": 6, "applied": 1}
    assert headcount.head_count(streamer) == 1


def test_the_session_shows_its_head_count(api):
    streamer = User.new("role:creator")
    session = start_session(api, streamer)
    viewers = [ids.new_id() for _ in range(3)]
    t = now_ms()
    send(api, body([added(streamer.id, v) for v in viewers], t))
    send(api, body([removed(streamer.id, viewers[0])], t + 1))
    shown = api.call("GET", f"/sessions/{session['id']}", User.new())
    assert shown.status_code == 200 and shown.json()["head_count"] == 2
    api.call("DELETE", f"/sessions/{session['id']}", streamer)
    assert api.call("GET", f"/sessions/{session['id']}", streamer).json()["head_count"] == 0


def test_signed_json_that_is_not_an_object_is_a_bad_request(api):
    for raw in (b"[]", b"null", b"1"):
        answer = send(api, raw)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "validation_error"), answer.text


def test_separate_webhooks_of_one_millisecond(api):
    t = now_ms()
    streamer, a, b = ids.new_id(), ids.new_id(), ids.new_id()
    send(api, body([added(streamer, a)], t))
    assert send(api, body([removed(streamer, a)], t)).json()["applied"] == 1  # the same place: the removal wins
    assert send(api, body([added(streamer, a)], t)).json()["applied"] == 0
    # the last viewer leaves and a new one arrives in the same millisecond: the newcomer counts
    send(api, body([vacated(streamer)], t + 1))
    assert send(api, body([added(streamer, b)], t + 1)).json()["applied"] == 1
    assert headcount.head_count(streamer) == 1


def listen_in_room(streamer: str, user: str) -> PusherSocket:
    """A real subscriber of the streamer's room on the local Pusher server, as `user`."""
    sock = PusherSocket("127.0.0.1", int(os.environ["PUSHER_PORT"]), os.environ["PUSHER_KEY"])
    channel = pusher.room_channel(streamer)
    sock.subscribe(channel, pusher.client().authenticate(channel, sock.socket_id, custom_data={"user_id": user}))
    return sock


def lose_webhooks(streamer: str, ghost: str, missing: str) -> None:
    """As if `ghost`'s removal was lost seven minutes ago, and `missing`'s arrival just now."""
    long_ago = now_ms() - headcount.SETTLED_MS - 60_000
    headcount.apply(headcount.Webhook(time_ms=long_ago, events=[added(streamer, ghost)]))
    wait_until(lambda: headcount.head_count(streamer) == 2, what="the listener's arrival")
    headcount._viewer(streamer, missing).delete()


def test_pusher_s_list_corrects_lost_webhooks(api):
    streamer, listener, ghost, recent = ids.new_id(), ids.new_id(), ids.new_id(), ids.new_id()
    sock = listen_in_room(streamer, listener)
    try:
        lose_webhooks(streamer, ghost, listener)
        send(api, body([added(streamer, recent)]))  # not listed, but a webhook may still remove them
        assert pusher.members(pusher.room_channel(streamer)) == {listener}
        assert headcount.check_room(streamer, {listener, streamer}) == 2  # the ghost leaves, the listener arrives
        assert headcount.check_room(streamer, {listener}) == 0
        assert headcount.head_count(streamer) == 2  # the listener and the recent arrival
    finally:
        sock.close()


def test_the_tick_checks_the_rooms_someone_is_in(api):
    streamer, listener, ghost = ids.new_id(), ids.new_id(), ids.new_id()
    sock = listen_in_room(streamer, listener)
    try:
        lose_webhooks(streamer, ghost, listener)
        assert headcount._room(streamer).get().get("check_due_at") > time.time()  # set when someone came in
        headcount._room(streamer).update({"check_due_at": 0})  # as if RECHECK_SECONDS had passed
        wait_until(lambda: headcount.head_count(streamer) == 1 and headcount._viewer(streamer, listener).get().exists,
                   timeout=20, what="the tick to check the room")
    finally:
        sock.close()
    wait_until(lambda: headcount.head_count(streamer) == 0, what="the listener to leave")
    headcount._room(streamer).update({"check_due_at": 0})
    wait_until(lambda: "check_due_at" not in headcount._room(streamer).get().to_dict(),
               timeout=20, what="the empty room to be checked, then left alone")
