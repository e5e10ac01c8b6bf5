"""Pusher channel authorization over HTTP, checked by subscribing on the local Pusher server with
what the API answered (seed 004): each channel allowed or refused as its rule says."""
from __future__ import annotations

import os
import time

import pytest

from tests.e2e.helpers import FORM, auth, buy, provision, socket
from tests.support import User, create_funding_goal, start_session, wait_until

pytestmark = pytest.mark.stack


def subscribes(api, user, channel) -> bool:
    """Authorized by the API and accepted by the Pusher server with that authorization."""
    sock = socket()
    try:
        answer = auth(api, user, sock, channel)
        if answer.status_code != 200:
            assert answer.status_code == 403 and answer.json()["error"]["code"], answer.text
            return False
        sock.subscribe(channel, answer.json())
        return True
    finally:
        sock.close()


def test_each_channel_admits_whom_its_rule_says(api, streamer):
    viewer, stranger = User.new(), User.new()
    start_session(api, streamer)
    sd = f"presence-enc-stream-viewer@{streamer.id}.sd.{viewer.id}"
    cases = [
        (viewer, f"private-user@{viewer.id}", True), (stranger, f"private-user@{viewer.id}", False),
        (stranger, f"private-stream@{streamer.id}", True), (stranger, f"presence-stream@{streamer.id}", True),
        (viewer, f"presence-stream-viewer@{streamer.id}.preview.{viewer.id}", True),
        (stranger, f"presence-stream-viewer@{streamer.id}.preview.{viewer.id}", False),
        (viewer, sd, False),  # has not paid
        (stranger, sd, False),
        (streamer, f"presence-enc-stream-viewer@{streamer.id}.sd.{streamer.id}", True),  # the streamer always may
        (viewer, "private-something-else", False),
    ]
    assert [subscribes(api, user, channel) for user, channel, _ in cases] == [ok for _, _, ok in cases]


def test_presence_data_names_the_subscriber(api, streamer):
    viewer = User.new()
    sock = socket()
    answer = auth(api, viewer, sock, f"presence-stream@{streamer.id}").json()
    assert f'"user_id":"{viewer.id}"' in answer["channel_data"].replace(" ", "")
    sock.subscribe(f"presence-stream@{streamer.id}", answer)
    sock.close()


def test_paying_or_buying_a_ticket_opens_the_paid_channel(api, streamer):
    payer, buyer = User.new(), User.new()
    session = start_session(api, streamer)
    for user in (payer, buyer):
        provision(api, user, 1000)
    channel = lambda user: f"presence-enc-stream-viewer@{streamer.id}.sd.{user.id}"  # noqa: E731
    assert not subscribes(api, payer, channel(payer))
    assert api.call("POST", f"/streams/{streamer.id}/pay", payer, json={"duration": 3}).status_code == 201
    assert subscribes(api, payer, channel(payer))
    wait_until(lambda: not subscribes(api, payer, channel(payer)), timeout=10, what="the window's end")

    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    assert not subscribes(api, buyer, channel(buyer))
    assert buy(api, buyer, session["id"], goal["id"]).status_code == 201
    wait_until(lambda: subscribes(api, buyer, channel(buyer)), timeout=10, what="the ticket to count")


def test_batch_authentication_answers_each_channel_on_its_own(api, streamer):
    viewer = User.new()
    sock = socket()
    mine, theirs = f"private-user@{viewer.id}", f"private-user@{streamer.id}"
    answer = api.call("POST", "/pusher/batch-authenticate", viewer, headers=dict(FORM),
                      data={"socket_id": sock.socket_id, "channel_name[0]": mine, "channel_name[1]": theirs})
    assert answer.status_code == 200, answer.text
    answers = answer.json()
    assert answers[theirs]["status"] == 403 and answers[mine]["status"] == 200
    sock.subscribe(mine, answers[mine]["data"])
    sock.close()


def test_bad_requests_are_refused(api, viewer):
    sock = socket()
    channel = f"private-user@{viewer.id}"
    assert api.call("POST", "/pusher/auth", data={"socket_id": sock.socket_id, "channel_name": channel},
                    headers=dict(FORM)).status_code == 401
    bad = api.call("POST", "/pusher/auth", viewer, data={"socket_id": "x", "channel_name": channel}, headers=dict(FORM))
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "validation_error")
    as_json = api.call("POST", "/pusher/auth", viewer, json={"socket_id": sock.socket_id, "channel_name": channel})
    assert as_json.status_code == 200 and as_json.json()["auth"].startswith(os.environ["PUSHER_KEY"] + ":")
    empty = api.call("POST", "/pusher/batch-authenticate", viewer, data={"socket_id": sock.socket_id},
                     headers=dict(FORM))
    assert empty.status_code == 400
    sock.close()
