"""The analytics stream end to end: business events of several features arrive on
`analytics-events` in one schema, once each, even when their signals are delivered again; and
`python -m shared.tools.analytics_tail` prints them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from shared.core import signals
from shared.core.config import settings
from tests.e2e.helpers import login, png, put, signup, start
from tests.support import User, create_funding_goal, marker, settled, start_session, wait_until

pytestmark = pytest.mark.stack
FIELDS = {"event_id", "event", "subject_id", "actor_id", "at", "properties"}


class Stream:
    """A pull subscription of the test's own on the analytics topic."""

    def __init__(self):
        from google.cloud import pubsub_v1

        self.client = pubsub_v1.SubscriberClient()
        self.name = self.client.subscription_path(settings().project, f"analytics-test-{os.getpid()}-{time.time_ns()}")
        self.client.create_subscription(
            request={"name": self.name, "topic": f"projects/{settings().project}/topics/analytics-events"})
        self.events: list[dict] = []

    def drain(self) -> list[dict]:
        from google.api_core.exceptions import DeadlineExceeded

        try:
            answer = self.client.pull(request={"subscription": self.name, "max_messages": 500}, timeout=3)
        except DeadlineExceeded:
            return self.events
        if answer.received_messages:
            self.events += [json.loads(m.message.data) for m in answer.received_messages]
            self.client.acknowledge(
                request={"subscription": self.name, "ack_ids": [m.ack_id for m in answer.received_messages]})
        return self.events

    def close(self):
        self.client.delete_subscription(request={"subscription": self.name})


def test_business_events_are_tracked_once_in_one_schema_duplicates_included(api):
    stream = Stream()
    try:
        mail = f"fan-{time.time_ns()}@example.com"
        user_id = signup(api, mail).json()["user"]["id"]
        assert login(api, mail).status_code == 200
        streamer = User.new("role:creator")
        session = start_session(api, streamer)
        goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
        asset = start(api, streamer)
        put(asset["upload"], png())
        assert api.call("DELETE", f"/goals/{goal['id']}", streamer).status_code == 200
        assert api.call("DELETE", f"/sessions/{session['id']}", streamer).status_code == 200
        expected = {f"session.started:{session['id']}", f"session.ended:{session['id']}", f"goal.created:{goal['id']}",
                    f"goal.ended:{goal['id']}", f"asset.created:{asset['asset']['id']}"}

        def names(events):
            return [e["event_id"] for e in events]

        wait_until(lambda: expected <= set(names(stream.drain())), timeout=30, what="the analytics events")
        logins = [e for e in stream.events if e["event"] == "user.logged_in" and e["actor_id"] == user_id]
        assert len(logins) == 1 and logins[0]["subject_id"] == user_id

        # the same business events delivered again: their trackers' steps are repeats
        ended = {"session_id": session["id"], "streamer_id": streamer.id, "ended_at": time.time()}
        signals.publish("session.ended", ended)
        signals.publish("user.logged_in", logins[0]["properties"])
        wait_until(lambda: marker(f"track_session_ended@session.ended:{session['id']}").get("repeats", 0) >= 1
                   and marker(f"track_user_logged_in@{logins[0]['event_id']}").get("repeats", 0) >= 1,
                   timeout=20, what="the repeats")
        settled()
        events = stream.drain()
        ours = [e for e in events if e["event_id"] in expected | {logins[0]["event_id"]}]
        assert sorted(names(ours)) == sorted(expected | {logins[0]["event_id"]})  # each exactly once
        for event in ours:
            assert set(event) == FIELDS, event
        started = next(e for e in ours if e["event"] == "session.started")
        assert (started["subject_id"], started["actor_id"]) == (session["id"], streamer.id)
    finally:
        stream.close()


def tail_subscribed(pid: int) -> bool:
    """The tail command of process `pid` has its subscription on the analytics topic."""
    from google.cloud import pubsub_v1

    topic = f"projects/{settings().project}/topics/analytics-events"
    mine = f"projects/{settings().project}/subscriptions/analytics-tail-{pid}-"
    return any(name.startswith(mine) for name in pubsub_v1.PublisherClient().list_topic_subscriptions(topic=topic))


def test_the_tail_command_prints_events_as_they_come(api):
    env = {**os.environ}
    tail = subprocess.Popen([sys.executable, "-m", "shared.tools.analytics_tail", "--seconds", "8"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: tail_subscribed(tail.pid) or tail.poll() is not None, timeout=30, interval=0.2,
                   what="the tail's subscription")  # it exists before the event is published
        streamer = User.new("role:creator")
        session = start_session(api, streamer)
        out, err = tail.communicate(timeout=60)
    finally:
        tail.kill()
    lines = [json.loads(line) for line in out.splitlines()]
    assert any(e["event_id"] == f"session.started:{session['id']}" for e in lines), (out, err)
