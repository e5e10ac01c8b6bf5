"""The show-funding flow of seeds 000 and 002 over HTTP, through the emulators and the Pusher server."""
from __future__ import annotations

import concurrent.futures
import json
import time

import pytest

from shared.core import signals, steps, tasks
from shared.core.pusher import stream_channels
from shared.goals import service
from tests.e2e.helpers import for_goal
from tests.support import create_funding_goal, marker, settled, start_session, wait_until

pytestmark = pytest.mark.stack


def analytics_events(match, expect: int, timeout: float = 20) -> list[dict]:
    """Events on the analytics topic's sink subscription (made by provisioning) that `match`."""
    from google.api_core.exceptions import DeadlineExceeded
    from google.cloud import pubsub_v1

    from shared.core.config import settings

    subscriber = pubsub_v1.SubscriberClient()
    sink = f"projects/{settings().project}/subscriptions/analytics-events--sink"
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(found) < expect and time.monotonic() < deadline:
        try:
            response = subscriber.pull(request={"subscription": sink, "max_messages": 100}, timeout=5)
        except DeadlineExceeded:
            continue
        if response.received_messages:
            subscriber.acknowledge(
                request={"subscription": sink, "ack_ids": [m.ack_id for m in response.received_messages]})
        found += [e for e in (json.loads(m.message.data) for m in response.received_messages) if match(e)]
    return found


def test_pre_sale_that_expires_unfunded_is_refunded(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    channel = f"private-stream@{streamer.id}"
    sock = pusher_socket(channel)
    exp = int(time.time()) + 3
    goal = create_funding_goal(api, streamer, session["id"], exp, hesitation=1)
    assert goal["active"] is True and goal["_cls"] == "ShowFundingGoal" and goal["progress"] == 0
    assert goal["context"]["type"] == "show-funding" and goal["metadata"] == {"user_id": streamer.id}

    added = sock.wait_for("goal.added", channel=channel, where=for_goal(goal["id"]), timeout=15)
    assert added[3]["session_id"] == session["id"] and added[3]["streamer_id"] == streamer.id
    ended = sock.wait_for("goal.ended", channel=channel, where=for_goal(goal["id"]), timeout=20)
    assert ended[0] > added[0]
    assert ended[3]["active"] is False and ended[3]["progress"] == 0 and ended[3]["triggerer"] is None

    stored = api.call("GET", f"/goals/{goal['id']}", streamer).json()
    assert stored["active"] is False and stored["exp"] <= exp
    pairs = wait_until(
        lambda: [p for p in api.call("GET", f"/sessions/{session['id']}", streamer).json()["show_goal_pairs"]
                 if p["funding_ended"]], what="funding_ended")
    assert [p["funding_goal"] for p in pairs] == [goal["id"]]

    # the refund check runs at exp + hesitation_countdown + 5 s and decides once
    decided = wait_until(lambda: api.call("GET", f"/goals/{goal['id']}", streamer).json()["refund"], timeout=20,
                         what="refund decision")
    assert decided["decision"] == "refund" and decided["escrow_id"] == f"show_funding:{goal['id']}"
    assert decided["decided_at"] >= stored["exp"] + 1 + 5 - 1
    # one marker: the check applied once (its effects are stamped just after the decision commits)
    check = wait_until(lambda: marker(f"check_funding_goal_refundable:{goal['id']}").get("flushed_at") and
                       marker(f"check_funding_goal_refundable:{goal['id']}"), what="the check's marker")
    assert check["flushed_at"] is not None and check["applied_at"] <= decided["decided_at"] + 1

    # track_goals published both goal events to the analytics topic, once each
    tracked = analytics_events(lambda e: e["subject_id"] == goal["id"], expect=2)
    assert sorted(e["event"] for e in tracked) == ["goal.created", "goal.ended"]


def test_streamer_ends_pre_sale_early(api, streamer, viewer, pusher_socket):
    session = start_session(api, streamer)
    sock = pusher_socket(f"private-user@{streamer.id}")
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    sock.wait_for("goal.added", where=for_goal(goal["id"]))

    assert api.call("DELETE", f"/goals/{goal['id']}", viewer).status_code == 403  # needs role:creator
    other_streamer = type(streamer).new("role:creator")
    assert api.call("DELETE", f"/goals/{goal['id']}", other_streamer).json()["error"]["code"] == "not_owner"

    ended = api.call("DELETE", f"/goals/{goal['id']}", streamer)
    assert ended.status_code == 200, ended.text
    body = ended.json()
    assert body["active"] is False and body["triggerer"] == streamer.client_id and body["exp"] <= time.time()
    event = sock.wait_for("goal.ended", where=for_goal(goal["id"]))
    assert event[3]["triggerer"] == streamer.client_id

    again = api.call("DELETE", f"/goals/{goal['id']}", streamer)
    assert again.status_code == 409 and again.json()["error"]["code"] == "goal_ended"
    decided = wait_until(lambda: api.call("GET", f"/goals/{goal['id']}", streamer).json()["refund"], timeout=20,
                         what="refund decision")
    assert decided["decision"] == "refund"
    assert sock.count("goal.ended", for_goal(goal["id"])) == 1


def test_concurrent_deletes_end_the_goal_once(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    sock = pusher_socket(f"private-stream@{streamer.id}")
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = sorted(r.status_code for r in pool.map(
            lambda _: api.call("DELETE", f"/goals/{goal['id']}", streamer), range(4)))
    assert codes == [200, 409, 409, 409]
    sock.wait_for("goal.ended", where=for_goal(goal["id"]))
    settled()
    assert sock.count("goal.ended", for_goal(goal["id"])) == 1


def test_goal_ended_and_deactivate_task_delivered_twice_change_nothing_more(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    sock = pusher_socket(f"private-stream@{streamer.id}")
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 2)
    sock.wait_for("goal.ended", where=for_goal(goal["id"]), timeout=20)
    event_id = f"goal.ended:{goal['id']}"
    notify_key, embed_key = f"notify_goal_ended@{event_id}", f"set_embedded_goal_ended@{event_id}"
    wait_until(lambda: marker(notify_key).get("flushed_at") and marker(embed_key).get("flushed_at"),
               what="the first delivery to be applied")
    before_goal = api.call("GET", f"/goals/{goal['id']}", streamer).json()
    before_session = api.call("GET", f"/sessions/{session['id']}", streamer).json()

    # Pub/Sub redelivers goal.ended: the same payload and event id through the emulator again
    signals.publish("goal.ended", service.load(goal["id"]).ended_event().model_dump(mode="json", by_alias=True))
    wait_until(lambda: marker(notify_key).get("repeats", 0) >= 1 and marker(embed_key).get("repeats", 0) >= 1,
               what="the repeat delivery to reach the receivers")
    # Cloud Tasks redelivers deactivate_goal (the emulator does not de-duplicate names)
    tasks.schedule("deactivate_goal", {"goal_id": goal["id"]}, at=time.time())
    wait_until(lambda: marker(f"deactivate_goal:{goal['id']}").get("repeats", 0) >= 1, what="the repeated task")
    settled()

    assert sock.count("goal.ended", for_goal(goal["id"])) == 1
    after_goal = api.call("GET", f"/goals/{goal['id']}", streamer).json()
    assert {k: v for k, v in after_goal.items() if k != "refund"} == {
        k: v for k, v in before_goal.items() if k != "refund"}
    after_session = api.call("GET", f"/sessions/{session['id']}", streamer).json()
    assert after_session["show_goal_pairs"] == before_session["show_goal_pairs"]
    refund_marker = wait_until(lambda: marker(f"check_funding_goal_refundable:{goal['id']}"), timeout=20, what="refund")
    assert refund_marker["repeats"] == 0


def test_a_signed_task_request_runs_and_an_unsigned_one_is_refused(api, streamer):
    session = start_session(api, streamer)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    body = json.dumps({"goal_id": goal["id"], "reason": "session_ended"}).encode()
    refused = api.call("POST", "/tasks/deactivate_goal", data=body, headers={"Content-Type": "application/json"})
    assert refused.status_code == 401
    assert api.call("GET", f"/goals/{goal['id']}", streamer).json()["active"] is True
    signed = {"Content-Type": "application/json", tasks.SIGNATURE_HEADER: tasks.sign("deactivate_goal", body)}
    first = api.call("POST", "/tasks/deactivate_goal", data=body, headers=signed)
    second = api.call("POST", "/tasks/deactivate_goal", data=body, headers=signed)
    assert (first.json()["result"], second.json()["result"]) == ("ended", "repeat")


def test_ending_the_session_ends_its_goals(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    sock = pusher_socket(f"private-stream@{streamer.id}")
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    ended = api.call("DELETE", f"/sessions/{session['id']}", streamer)
    assert ended.status_code == 200, ended.text
    assert ended.json()["ending_goals"] == [goal["id"]] and ended.json()["session"]["active"] is False
    sock.wait_for("goal.ended", where=for_goal(goal["id"]))
    assert api.call("GET", f"/goals/{goal['id']}", streamer).json()["active"] is False
    assert api.call("DELETE", f"/sessions/{session['id']}", streamer).status_code == 409
    # a new session may start once the old one ended; a second concurrent one may not
    again = start_session(api, streamer)
    assert api.call("POST", "/sessions", streamer, json={}).json()["error"]["details"] == {"session_id": again["id"]}


def test_goal_events_reach_all_three_channels(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    channels = stream_channels(streamer.id)
    sock = pusher_socket(*channels)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    for channel in channels:
        sock.wait_for("goal.added", channel=channel, where=for_goal(goal["id"]))
    api.call("DELETE", f"/goals/{goal['id']}", streamer)
    for channel in channels:
        sock.wait_for("goal.ended", channel=channel, where=for_goal(goal["id"]))


def test_a_goal_whose_signal_could_not_be_published_is_swept_out(api, streamer, pusher_socket, monkeypatch):
    """The request commits the goal but its goal.created never leaves (Pub/Sub down, process
    killed): the maintenance tick's sweep publishes it, and the flow carries on."""
    from shared.goals.requests import ShowFundingGoalCreate
    from tests.support import funding_body

    session = start_session(api, streamer)
    sock = pusher_socket(f"private-stream@{streamer.id}")

    def publish_fails(effect, origin):
        raise ConnectionError("pubsub unreachable")

    monkeypatch.setattr(steps, "apply", publish_fails)
    request = ShowFundingGoalCreate.model_validate(funding_body(session["id"], int(time.time()) + 600))
    goal = service.create_show_funding_goal(streamer.id, request)  # the caller still gets its goal
    monkeypatch.undo()
    assert marker(f"create_goal:{goal.id}")["flushed_at"] is None

    sock.wait_for("goal.added", where=for_goal(goal.id), timeout=30)
    assert marker(f"create_goal:{goal.id}")["flushed_at"] is not None
    pairs = api.call("GET", f"/sessions/{session['id']}", streamer).json()["show_goal_pairs"]
    assert [p["funding_goal"] for p in pairs] == [goal.id]


def test_concurrent_session_starts_make_one_session(api, streamer):
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda _: api.call("POST", "/sessions", streamer, json={}), range(3)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    (started,) = [r.json() for r in responses if r.status_code == 201]
    assert all(r.json()["error"]["details"] == {"session_id": started["id"]} for r in responses if r.status_code == 409)
