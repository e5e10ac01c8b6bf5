"""Ids, task signatures and names, Pusher limits, and what each entry point imports."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shared import app
from shared.core import ids, pusher, tasks
from shared.core.errors import Unauthorized
from tests.stack import ROOT

app.load()


def test_object_ids_are_24_hex_unique_and_time_ordered():
    many = [ids.new_id() for _ in range(2000)]
    assert all(ids.is_object_id(i) for i in many) and len(set(many)) == len(many)
    assert [m[:8] for m in many] == sorted(m[:8] for m in many)  # seconds first: ids sort by creation time
    assert not ids.is_object_id("681088cb95684fc0c649654") and not ids.is_object_id("681088CB95684FC0C6496546")


def test_task_signatures_bind_the_task_name_and_body():
    body = b'{"goal_id": "681088cb95684fc0c6496546"}'
    tasks.verify("deactivate_goal", body, tasks.sign("deactivate_goal", body))
    for name, payload, signature in [
        ("check_funding_goal_refundable", body, tasks.sign("deactivate_goal", body)),
        ("deactivate_goal", body + b" ", tasks.sign("deactivate_goal", body)),
        ("deactivate_goal", body, None),
    ]:
        with pytest.raises(Unauthorized):
            tasks.verify(name, payload, signature)


def test_task_names_are_deterministic_per_goal_round_and_due_second():
    args = {"goal_id": "681088cb95684fc0c6496546"}
    assert tasks.task_id("deactivate_goal", args, 1745914628.2) == (
        "deactivate_goal-681088cb95684fc0c6496546-0-1745914628")
    rescheduled = {**args, "round": 1}
    assert tasks.task_id("deactivate_goal", rescheduled, 1745914628) != tasks.task_id(
        "deactivate_goal", args, 1745914628)
    assert tasks.task_id("deactivate_goal", args, 1745914628.9) == tasks.task_id("deactivate_goal", args, 1745914628.2)
    assert tasks.task_id("deactivate_goal", args, 1745914629) != tasks.task_id("deactivate_goal", args, 1745914628)


def test_pusher_events_over_10_kb_are_refused_before_sending():
    assert len(pusher.encode({"x": "a" * 9000})) < 10 * 1024
    with pytest.raises(pusher.PusherError):
        pusher.encode({"x": "a" * (10 * 1024)})


def refuses_to_start(monkeypatch, match: str, **env) -> None:
    """settings() raises under `env` (None removes a variable); the cached settings are rebuilt after."""
    from shared.core import config

    for name, value in env.items():
        monkeypatch.setenv(name, value) if value is not None else monkeypatch.delenv(name, raising=False)
    config.settings.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=match):
            config.settings()
    finally:
        monkeypatch.undo()
        config.settings.cache_clear()


def test_the_local_default_secrets_are_refused_on_cloud_run(monkeypatch):
    refuses_to_start(monkeypatch, "JWT_SECRET", K_SERVICE="goals-api", JWT_SECRET=None)


def test_seed_channel_names():
    assert pusher.stream_channels("u1") == ["private-stream@u1", "presence-stream@u1", "private-user@u1"]


@pytest.mark.parametrize("module, allowed", [
    ("api", set()),
    ("tasks", set()),
    ("receivers", set()),
])
def test_entry_points_import_no_google_client_until_used(module, allowed):
    code = (
        "import sys, json; sys.path.insert(0, 'functions');"
        f"import {module};"
        "print(json.dumps(sorted({m.split('.')[2] for m in sys.modules if m.startswith('google.cloud.')})))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out.splitlines()[-1])) & {
        "firestore", "firestore_v1", "pubsub_v1", "pubsub", "tasks_v2", "tasks", "storage"}
    assert loaded == allowed


@pytest.mark.parametrize("module", ["api", "tasks", "receivers"])
def test_an_entry_point_without_its_declared_secret_does_not_start_on_cloud_run(module):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "TASK_SECRET", "PUSHER_SECRET")}
    env.update(K_SERVICE="some-function", FUNCTION_SECRETS="TASK_SECRET")
    code = f"import sys; sys.path.insert(0, 'functions'); import {module}"
    refused = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "TASK_SECRET" in refused.stderr
    env["TASK_SECRET"] = "a-real-secret"
    started = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr


def test_effects_need_the_secrets_their_function_declares():
    from shared.core import options
    from shared.core.steps import Effects
    from shared.goals.models import DeactivateGoalArgs
    from shared.goals.tasks import DEACTIVATE_GOAL
    from tests.unit.test_goal_rules import NOW, pre_sale

    goal = pre_sale()
    with options.declared(options.FunctionOptions(secrets=("PUSHER_SECRET",))):
        Effects().notify(["private-user@x"], "goal.added", goal.notice(goal.owner))
        with pytest.raises(RuntimeError, match="TASK_SECRET"):
            Effects().schedule(DEACTIVATE_GOAL, DeactivateGoalArgs(goal_id=goal.id), at=NOW)
    with options.declared(options.FunctionOptions()):
        with pytest.raises(RuntimeError, match="PUSHER_SECRET"):
            Effects().notify(["private-user@x"], "goal.added", goal.notice(goal.owner))


def test_distinct_step_keys_get_distinct_markers():
    from shared.core import steps

    assert steps._doc_id("deactivate_goal:681088cb95684fc0c6496546") == "deactivate_goal:681088cb95684fc0c6496546"
    assert steps._doc_id("a/b") != steps._doc_id("a_b") != steps._doc_id("a b")
    assert steps._doc_id("x" * 401) != steps._doc_id("x" * 402) and len(steps._doc_id("x" * 1000)) < 400


@pytest.mark.parametrize("share", ["100", "-1"])
def test_the_platform_share_must_leave_the_streamer_something(monkeypatch, share):
    refuses_to_start(monkeypatch, "PLATFORM_SHARE_PERCENT", PLATFORM_SHARE_PERCENT=share)
