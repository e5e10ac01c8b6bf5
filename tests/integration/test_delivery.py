"""Deliveries through shared.core.delivery against the Firestore emulator: a tick receiver declared
as a step runs once per tick, and a permanent failure is dropped without leaving a marker."""
from __future__ import annotations

import base64
import json
from datetime import UTC

import pytest

from shared.core import delivery, ids, steps
from shared.core.errors import Conflict, Retry
from shared.core.firestore import db
from shared.core.registry import REGISTRY
from shared.maintenance import TICK

pytestmark = pytest.mark.stack


@pytest.fixture
def step_receiver(stack):
    """A temporary receiver of the tick, declared as a step, counting its runs in a document."""
    counter = db().collection("scratch").document(ids.new_id())
    counter.set({"runs": 0})
    behaviour = {"fail": None}

    def count_ticks(txn, fx, tick):
        if behaviour["fail"]:
            raise behaviour["fail"]
        runs = counter.get(transaction=txn).get("runs")
        txn.update(counter, {"runs": runs + 1})

    count_ticks.__name__ = f"count_ticks_{ids.new_id()}"
    REGISTRY.receiver(TICK)(count_ticks)
    (function,) = [f for f, r in REGISTRY.receivers.items() if r.handler is count_ticks]
    yield function, lambda: counter.get().get("runs"), behaviour
    del REGISTRY.receivers[function]


def tick(publish_time: str) -> dict:
    return {"attributes": {"sender": "maintenance.tick"}, "data": base64.b64encode(b"{}").decode(),
            "messageId": ids.new_id(), "publishTime": publish_time}


def test_a_step_receiver_of_the_tick_runs_every_tick(step_receiver):
    function, runs, _ = step_receiver
    period = TICK.period()
    base = 1_800_000_000 - 1_800_000_000 % int(period * 10)  # a round number of periods

    def at(seconds: float) -> str:
        from datetime import datetime

        return datetime.fromtimestamp(base + seconds, UTC).isoformat().replace("+00:00", "Z")

    assert delivery.receive(function, tick(at(0))) == "applied"
    assert delivery.receive(function, tick(at(0))) == "repeat"  # the same tick redelivered
    assert delivery.receive(function, tick(at(period))) == "applied"  # the next tick
    assert delivery.receive(function, tick(at(2 * period))) == "applied"
    assert runs() == 3


def test_a_permanent_failure_is_dropped_without_a_marker_and_a_retryable_one_raises(step_receiver):
    function, runs, behaviour = step_receiver
    message = tick("2027-01-01T00:00:00Z")
    behaviour["fail"] = Conflict("the state says no", code="goal_active")
    assert delivery.receive(function, message) == "dropped: goal_active"
    event_id = TICK.event_id(None, 1_798_761_600.0)
    assert steps.stored(f"{REGISTRY.receivers[function].name}@{event_id}") is None
    behaviour["fail"] = Retry("not yet")
    with pytest.raises(Retry):
        delivery.receive(function, message)
    behaviour["fail"] = None
    assert delivery.receive(function, message) == "applied" and runs() == 1


def test_a_malformed_message_is_raised_for_the_dead_letter_topic(stack):
    broken = {"attributes": {"sender": "goal.ended", "event_id": "goal.ended:x"},
              "data": base64.b64encode(json.dumps({"goal_id": 1}).encode()).decode()}
    with pytest.raises(ValueError, match="malformed"):
        delivery.receive("goal-ended--notify-goal-ended", broken)


def test_an_event_id_that_does_not_name_the_payload_is_dropped_without_a_marker(stack):
    """The payload's business id names the event: a message that claims another event's id cannot
    take that event's place."""
    from tests.unit.test_goal_rules import NOW, pre_sale

    _, event = pre_sale().end(NOW, None)
    other = ids.new_id()
    forged = {"attributes": {"sender": "goal.ended", "event_id": f"goal.ended:{other}"},
              "data": base64.b64encode(json.dumps(event.model_dump(mode="json", by_alias=True)).encode()).decode()}
    assert delivery.receive("goal-ended--notify-goal-ended", forged) == "dropped"
    assert steps.stored(f"notify_goal_ended@goal.ended:{other}") is None
    assert steps.stored(f"notify_goal_ended@goal.ended:{event.goal_id}") is None


def test_a_steps_signals_carry_the_trace_of_the_request_that_made_them(stack):
    """One request can be followed through its signals: the trace bound when the step committed
    travels in the marker and on every message its effects publish, also from the sweep."""
    import uuid

    from google.cloud import pubsub_v1

    from shared.analytics import TRACK, AnalyticsEvent
    from shared.core import logs, signals
    from shared.core.config import settings

    subscriber = pubsub_v1.SubscriberClient()
    name = f"projects/{settings().project}/subscriptions/test-{uuid.uuid4().hex[:12]}"
    subscriber.create_subscription(request={"name": name, "topic": signals.topic_path("analytics-events")})
    try:
        key, trace = f"test:{ids.new_id()}", uuid.uuid4().hex
        with logs.bound(trace=trace):
            steps.run(key, lambda txn, fx: fx.publish(TRACK, AnalyticsEvent(
                event_id=key, event="test", subject_id=key, at=0, properties={})))
        assert steps.stored(key)["trace"] == trace
        for _ in range(10):
            received = subscriber.pull(request={"subscription": name, "max_messages": 50}, timeout=5).received_messages
            mine = [m.message for m in received if json.loads(m.message.data)["event_id"] == key]
            if mine:
                break
        assert mine and mine[0].attributes["trace"] == trace
        assert signals.decode(
            {"attributes": dict(mine[0].attributes), "data": base64.b64encode(mine[0].data)}).trace == trace
    finally:
        subscriber.delete_subscription(request={"subscription": name})
