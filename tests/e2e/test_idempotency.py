"""Idempotency-Key on POST /sessions and POST /goals: a retry replays the stored answer, another
request under the same key is refused and changes nothing."""
from __future__ import annotations

import concurrent.futures
import time

import pytest

from shared.core.firestore import where
from tests.support import User, funding_body, start_session, until

pytestmark = pytest.mark.stack


def post(api, path, user, body, key):
    return api.call("POST", path, user, json=body, headers={"Idempotency-Key": key})


def test_a_retried_session_start_replays_its_answer(api, streamer):
    first = post(api, "/sessions", streamer, {"title": "show"}, "start-1")
    assert first.status_code == 201, first.text
    again = post(api, "/sessions", streamer, {"title": "show"}, "start-1")
    assert again.status_code == 201 and again.json() == first.json()
    other = post(api, "/sessions", streamer, {"title": "another show"}, "start-1")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert [s.id for s in where("sessions", user_id=streamer.id).stream()] == [first.json()["id"]]
    # without the key, the same request is a new one, refused by the one-active-session rule
    assert api.call("POST", "/sessions", streamer, json={"title": "show"}).status_code == 409


def test_keys_are_scoped_to_the_caller(api, streamer):
    rival = User.new("role:creator")
    mine = post(api, "/sessions", streamer, {}, "shared-key")
    theirs = post(api, "/sessions", rival, {}, "shared-key")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"] and theirs.json()["user_id"] == rival.id


def test_concurrent_retries_of_one_goal_creation_make_one_goal(api, streamer):
    session = start_session(api, streamer)
    body = funding_body(session["id"], int(time.time()) + 600)
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        responses = list(pool.map(lambda _: post(api, "/goals?type=show-funding", streamer, body, "goal-1"), range(5)))
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(list(where("goals", conditions__session_id=session["id"]).stream())) == 1
    changed = dict(body, exp=body["exp"] + 1)
    refused = post(api, "/goals?type=show-funding", streamer, changed, "goal-1")
    assert refused.status_code == 422
    assert len(list(where("goals", conditions__session_id=session["id"]).stream())) == 1


def test_a_replay_does_not_run_the_rules_again(api, streamer):
    """The stored answer is replayed even when the request would now be refused (exp has passed)."""
    session = start_session(api, streamer)
    body = funding_body(session["id"], int(time.time()) + 2)
    first = post(api, "/goals?type=show-funding", streamer, body, "goal-2")
    assert first.status_code == 201
    until(body["exp"] + 0.5)  # exp has passed: the same request anew would be refused
    again = post(api, "/goals?type=show-funding", streamer, body, "goal-2")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve"])
def test_malformed_keys_are_refused(api, streamer, key):
    response = api.call("POST", "/sessions", streamer, json={}, headers={"Idempotency-Key": key.encode()})
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    assert list(where("sessions", user_id=streamer.id).stream()) == []
