"""Effects take the registry's handles and models and are checked when recorded, inside the
transaction; the registry check proves the declarations fit together once all are loaded."""
from __future__ import annotations

import base64
import json
import warnings

import pytest
from pydantic import BaseModel

from shared import app
from shared.core import signals
from shared.core.options import FunctionOptions, QueueOptions
from shared.core.registry import Registry, TaskArgs
from shared.core.steps import Effects
from shared.goals.models import DeactivateGoalArgs, GoalIdArgs
from shared.goals.signals import GOAL_ENDED
from shared.goals.tasks import DEACTIVATE_GOAL
from shared.maintenance import TICK, Tick
from tests.unit.test_goal_rules import NOW, pre_sale

REGISTRY = app.load()


def test_effects_are_recorded_as_checked_json():
    fx = Effects()
    goal, event = pre_sale().end(NOW, None)
    fx.publish(GOAL_ENDED, event)
    fx.schedule(DEACTIVATE_GOAL, DeactivateGoalArgs(goal_id=goal.id), at=NOW)
    fx.notify(["private-user@x"], "goal.ended", goal.notice(goal.owner))
    assert [e["kind"] for e in fx.items] == ["publish", "schedule", "notify"]
    assert fx.items[0]["sender"] == "goal.ended" and fx.items[0]["payload"]["goal_id"] == goal.id
    assert fx.items[1] == {"kind": "schedule", "task": "deactivate_goal", "at": NOW,
                           "args": {"goal_id": goal.id, "reason": "expired", "round": 0}}
    json.dumps(fx.items)  # what the marker stores


def test_a_misspelt_signal_or_task_is_refused_before_commit():
    fx = Effects()
    _, event = pre_sale().end(NOW, None)
    with pytest.raises(TypeError):
        fx.publish("goal.ended", event)
    with pytest.raises(TypeError):
        fx.schedule("deactivate_goal", DeactivateGoalArgs(goal_id=event.goal_id), at=NOW)
    assert fx.items == []


def test_a_wrong_payload_or_task_argument_is_refused_before_commit():
    fx = Effects()
    goal, event = pre_sale().end(NOW, None)
    with pytest.raises(TypeError):
        fx.publish(GOAL_ENDED, goal.created_event())  # the payload of another signal
    with pytest.raises(TypeError):
        fx.schedule(DEACTIVATE_GOAL, GoalIdArgs(goal_id=goal.id), at=NOW)  # the arguments of another task
    broken = event.model_copy(update={"progress": "lots"})  # changed after it was built, unvalidated
    with pytest.raises(ValueError), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic warns while dumping the bad value: the point of the test
        fx.publish(GOAL_ENDED, broken)
    bad_args = DeactivateGoalArgs.model_construct(goal_id="not-an-id", reason="expired", round=0)
    with pytest.raises(ValueError):
        fx.schedule(DEACTIVATE_GOAL, bad_args, at=NOW)
    assert fx.items == []


def test_a_pusher_event_over_10_kb_is_refused_before_commit():
    from shared.core.pusher import PusherError

    class Big(BaseModel):
        text: str

    fx = Effects()
    with pytest.raises(PusherError):
        fx.notify(["private-user@x"], "big", Big(text="x" * 11_000))
    assert fx.items == []


def test_the_registry_check_finds_what_does_not_fit():
    registry = Registry()

    class Args(TaskArgs):
        def task_key(self):
            return "k"

    other = Registry().signal("elsewhere", Tick, key=lambda e: "x")
    registry.receiver(other)(lambda txn, fx, event: None)
    registry.task("orphan", queue="nowhere", args=Args)
    registry.route("GET", "/x", surface="undeclared")(lambda call: None)
    with pytest.raises(ValueError) as failed:
        registry.check()
    message = str(failed.value)
    for expected in ("listens to elsewhere", "task orphan has no handler", "undeclared queue nowhere",
                     "undeclared surface undeclared"):
        assert expected in message
    registry.queue("nowhere", QueueOptions())
    registry.surface("undeclared", FunctionOptions())
    registry.tasks["orphan"].handles(lambda args: None)
    registry.receivers.clear()
    registry.check()


def test_the_loaded_registry_is_consistent():
    REGISTRY.check()
    assert all(task.handler for task in REGISTRY.tasks.values())


def tick_message(publish_time: str) -> dict:
    return {"attributes": {"sender": "maintenance.tick"}, "data": base64.b64encode(b"{}").decode(),
            "messageId": "1", "publishTime": publish_time}


def test_each_tick_period_is_its_own_event_and_a_redelivered_tick_is_not(monkeypatch):
    from shared.core import config

    monkeypatch.setenv("TICK_SECONDS", "60")  # Cloud Scheduler's minute
    config.settings.cache_clear()
    monkeypatch.setattr(config, "settings", config.settings)  # cleared again on undo below
    first = signals.decode(tick_message("2026-11-23T19:41:02.123456789Z"))
    again = signals.decode(tick_message("2026-11-23T19:41:02.123456789Z"))
    same_minute = signals.decode(tick_message("2026-11-23T19:41:59Z"))
    next_minute = signals.decode(tick_message("2026-11-23T19:42:00Z"))
    ids_ = [TICK.event_id(Tick(), m.published_at) for m in (first, again, same_minute, next_minute)]
    assert ids_[0] == ids_[1] == ids_[2] != ids_[3]
    assert ids_[0].startswith("maintenance.tick:")
    monkeypatch.undo()
    config.settings.cache_clear()
