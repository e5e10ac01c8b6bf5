"""Idempotent steps against the Firestore and Pub/Sub emulators: applied once, effects never lost."""
from __future__ import annotations

import concurrent.futures
import json
import uuid

import pytest

from shared.analytics import TRACK, AnalyticsEvent
from shared.core import ids, signals, steps
from shared.core.config import settings
from shared.core.errors import AlreadyApplied, Conflict
from shared.core.firestore import db

pytestmark = pytest.mark.stack


@pytest.fixture
def analytics_inbox(stack):
    """A fresh pull subscription on the analytics topic: counts what a step really published."""
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    name = f"projects/{settings().project}/subscriptions/test-{uuid.uuid4().hex[:12]}"
    subscriber.create_subscription(request={"name": name, "topic": signals.topic_path("analytics-events")})

    def receive(timeout: float) -> list[dict]:
        try:
            response = subscriber.pull(request={"subscription": name, "max_messages": 50}, timeout=timeout)
        except Exception:  # DeadlineExceeded: nothing arrived
            return []
        if response.received_messages:
            subscriber.acknowledge(
                request={"subscription": name, "ack_ids": [m.ack_id for m in response.received_messages]})
        return [json.loads(m.message.data) for m in response.received_messages]

    seen: list[str] = []  # every event id received on the subscription so far

    def pull(event_id: str) -> list[str]:
        """The ids of the messages published for `event_id` (other tests' receivers publish here too):
        wait for the first, then collect whatever else arrives within 1.5 s."""
        for _ in range(10):
            if event_id in seen:
                break
            seen.extend(m["event_id"] for m in receive(5))
        seen.extend(m["event_id"] for m in receive(1.5))
        return [e for e in seen if e == event_id]

    yield pull
    subscriber.delete_subscription(request={"subscription": name})


def track(fx, event_id: str) -> None:
    fx.publish(TRACK, AnalyticsEvent(event_id=event_id, event="test", subject_id=event_id, at=0, properties={}))


def body_writing(doc_id: str, event_id: str):
    def body(txn, fx):
        txn.set(db().collection("scratch").document(doc_id), {"n": 1})
        track(fx, event_id)
        return "done"
    return body


def test_a_step_applies_once_and_publishes_once(analytics_inbox):
    key, doc_id = f"test:{ids.new_id()}", ids.new_id()
    assert steps.run(key, body_writing(doc_id, key)) == "done"
    with pytest.raises(AlreadyApplied):
        steps.run(key, body_writing(doc_id, key))
    assert analytics_inbox(key) == [key]
    assert steps.marker(key).get().get("repeats") == 1


def test_effects_of_a_step_that_died_after_commit_are_applied_by_the_repeat(analytics_inbox, monkeypatch):
    key, doc_id = f"test:{ids.new_id()}", ids.new_id()
    real_apply = steps.apply

    def dies(effect, origin):
        raise ConnectionError("process died before publishing")

    monkeypatch.setattr(steps, "apply", dies)
    with pytest.raises(ConnectionError):
        steps.run(key, body_writing(doc_id, key))
    assert db().collection("scratch").document(doc_id).get().exists  # the state change committed
    assert steps.marker(key).get().get("flushed_at") is None  # its effects did not go out

    monkeypatch.setattr(steps, "apply", real_apply)
    with pytest.raises(AlreadyApplied):  # redelivery: nothing is applied twice...
        steps.run(key, body_writing(doc_id, key))
    assert analytics_inbox(key) == [key]  # ...and nothing is lost
    assert steps.marker(key).get().get("flushed_at") is not None


def test_a_run_that_died_holding_the_lease_is_made_good_once_it_expires(analytics_inbox, monkeypatch):
    from shared.core import clock

    key, doc_id = f"test:{ids.new_id()}", ids.new_id()
    monkeypatch.setattr(steps, "_apply_all", lambda ref: None)  # the process dies right after commit
    steps.run(key, body_writing(doc_id, key))
    monkeypatch.undo()
    with pytest.raises(AlreadyApplied) as early:
        steps.run(key, body_writing(doc_id, key))
    assert early.value.flushed is False  # the lease is still held: a retryable delivery retries
    later = clock.now() + steps.LEASE_SECONDS + 1
    monkeypatch.setattr(clock, "_now", lambda: later)
    with pytest.raises(AlreadyApplied) as late:
        steps.run(key, body_writing(doc_id, key))
    assert late.value.flushed is True
    assert analytics_inbox(key) == [key]


def test_a_body_that_refuses_writes_nothing():
    key, doc_id = f"test:{ids.new_id()}", ids.new_id()

    def refuses(txn, fx):
        txn.set(db().collection("scratch").document(doc_id), {"n": 1})
        track(fx, key)
        raise Conflict("no")

    with pytest.raises(Conflict):
        steps.run(key, refuses)
    assert not steps.marker(key).get().exists
    assert not db().collection("scratch").document(doc_id).get().exists


def test_concurrent_deliveries_apply_a_step_exactly_once(analytics_inbox):
    key, counter = f"test:{ids.new_id()}", db().collection("scratch").document(ids.new_id())
    counter.set({"n": 0})

    def body(txn, fx):
        n = counter.get(transaction=txn).get("n")
        txn.update(counter, {"n": n + 1})
        track(fx, key)

    def deliver(_):
        try:
            steps.run(key, body)
            return "applied"
        except AlreadyApplied:
            return "repeat"

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(deliver, range(4)))
    assert outcomes == ["applied", "repeat", "repeat", "repeat"]
    assert counter.get().get("n") == 1
    assert analytics_inbox(key) == [key]


def test_a_retry_resumes_after_the_effects_that_already_went_out(analytics_inbox, monkeypatch):
    key = f"test:{ids.new_id()}"
    first, second = f"{key}:first", f"{key}:second"

    def two_effects(txn, fx):
        track(fx, first)
        track(fx, second)

    real_apply = steps.apply

    def second_fails(effect, origin):
        if effect["payload"]["event_id"] == second:
            raise ConnectionError("publish timed out")
        real_apply(effect, origin)

    monkeypatch.setattr(steps, "apply", second_fails)
    with pytest.raises(ConnectionError):
        steps.run(key, two_effects)
    monkeypatch.setattr(steps, "apply", real_apply)
    with pytest.raises(AlreadyApplied):
        steps.run(key, two_effects)
    assert analytics_inbox(first) == [first] and analytics_inbox(second) == [second]
    state = steps.marker(key).get().to_dict()
    assert state["effects_done"] == 2 and state["failures"] == 1 and "publish timed out" in state["last_error"]
