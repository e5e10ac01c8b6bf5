"""Each deployed function loads only its own modules: functions/targets.json (generated) lists them
per entry point, terraform names the entry point in DEPLOYED_ENTRY_POINT, and shared.app.load()
imports those modules and checks what that function serves.

Every entry point is imported here as its runtime does, from its own entry file with the variable
set. Loading is once per interpreter, so each needs one of its own: a parent interpreter imports
what every entry file imports before its features (functions_framework, pydantic, shared.core; it
proves the registry still empty), then forks one child per entry point, which imports its entry file
and reports. Two parents share the entry points between them."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from shared import app
from shared.core.options import FunctionOptions, QueueOptions
from shared.core.registry import Registry, TaskArgs
from tests.stack import ROOT

TARGETS = app.targets()
FULL = {ep for ep, t in TARGETS.items() if set(app.FEATURES) <= set(t["modules"])}

BATCH = """
import importlib, json, os, pathlib, sys, traceback
sys.path.insert(0, "functions")
import _bootstrap, functions_framework
from shared import app
from shared.core import delivery, http, logs, tasks
from shared.core.registry import REGISTRY
assert not (REGISTRY.signals or REGISTRY.receivers or REGISTRY.tasks or REGISTRY.routes or REGISTRY.owners
            or REGISTRY.surface_options or REGISTRY.worker_options), "the parent declared something"
assert not [m for m in app.FEATURES if m in sys.modules], "the parent imported a feature"
targets = app.targets()


def report(entry_point):
    os.environ[app.ENTRY_POINT_VARIABLE] = entry_point
    source = targets[entry_point]["source"]
    module = importlib.import_module(pathlib.Path(source).stem)
    served = REGISTRY.entry_points()[entry_point]
    return {"callable": callable(getattr(module, entry_point, None)),
            "defined": sorted(ep for ep, t in targets.items() if t["source"] == source and hasattr(module, ep)),
            "serves": served.names, "handlers": all(h is not None for h in served.handlers),
            "features": sorted(m for m in app.FEATURES if m in sys.modules), "registry": REGISTRY.entry_point}


results = {}
for entry_point in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            out = report(entry_point)
        except BaseException:
            out = {"error": traceback.format_exc()}
        with os.fdopen(write, "w") as pipe:
            pipe.write(json.dumps(out))
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        results[entry_point] = json.loads(pipe.read())
    os.waitpid(pid, 0)
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def loaded() -> dict[str, dict]:
    """Each entry point's report, from its own interpreter (forked, as above)."""
    env = {k: v for k, v in os.environ.items() if k not in (app.ENTRY_POINT_VARIABLE, "FUNCTION_TARGET", "K_SERVICE")}
    names = sorted(TARGETS)
    batches = [names[i::2] for i in range(2)]
    runs = [subprocess.Popen([sys.executable, "-c", BATCH, json.dumps(batch)], cwd=ROOT, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for batch in batches]
    found: dict[str, dict] = {}
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        found |= json.loads(out.splitlines()[-1])
    return found


def test_every_deployed_entry_point_starts_with_only_its_modules(loaded):
    assert set(loaded) == set(TARGETS)
    for entry_point, report in sorted(loaded.items()):
        assert "error" not in report, f"{entry_point} failed to start:\n{report.get('error')}"
        target = TARGETS[entry_point]
        assert report["callable"], f"{target['source']} defines no {entry_point}"
        assert report["serves"] == target["serves"] and report["handlers"], entry_point
        # its own entry point only (the task handler is written out in functions/tasks.py)
        assert set(report["defined"]) - {"task_handler"} <= {entry_point} and entry_point in report["defined"]
        if entry_point in FULL:
            assert report["features"] == sorted(app.FEATURES) and report["registry"] is None, entry_point
        else:
            assert report["features"] != sorted(app.FEATURES), f"{entry_point} loaded every feature"
            assert set(target["modules"]) <= set(report["features"]) and report["registry"] == entry_point


def test_the_sweep_is_the_only_function_that_loads_every_feature():
    # it applies any step's effects, by their signals' and tasks' names (full_registry=True)
    assert FULL == {"maintenance_tick__flush_pending_steps"}


def test_targets_cover_every_deployed_function_of_the_registry():
    registry = app.load()
    assert set(TARGETS) == set(registry.entry_points())
    assert {t["function"] for t in TARGETS.values()} == set(json.loads(
        (ROOT / "infra" / "terraform" / "registry.auto.tfvars.json").read_text())["functions"])
    assert all(t["modules"] == sorted(t["modules"]) and t["modules"] for t in TARGETS.values())


def test_deployed_meta_serves_the_generated_openapi_document():
    # Deployed, meta loads no other feature: /openapi.json is the document generated from them all.
    code = """
import json, sys
from functions_framework import create_app
client = create_app("meta_api", "functions/api.py", "http").test_client()
print(json.dumps({"openapi": client.get("/openapi.json").get_json(), "healthz": client.get("/healthz").get_json(),
                  "features": sorted(m for m in __import__("shared.app").app.FEATURES if m in sys.modules)}))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("FUNCTION_TARGET", "K_SERVICE")}
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**env, app.ENTRY_POINT_VARIABLE: "meta_api"})
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout.splitlines()[-1])
    assert found["features"] == ["shared.meta"]
    assert found["openapi"] == json.loads((ROOT / "functions" / "openapi.json").read_text())
    assert found["healthz"]["status"] == "ok"


def test_the_entry_point_comes_from_terraform_or_on_cloud_run_from_the_buildpack(monkeypatch):
    for name in (app.ENTRY_POINT_VARIABLE, "FUNCTION_TARGET", "K_SERVICE"):
        monkeypatch.delenv(name, raising=False)
    assert app.deployed_entry_point() is None
    # functions-framework sets FUNCTION_TARGET in its own process for each app it creates (the local
    # host creates them all in one): alone, off Cloud Run, it is no deployment
    monkeypatch.setenv("FUNCTION_TARGET", "goals_api")
    assert app.deployed_entry_point() is None
    monkeypatch.setenv("K_SERVICE", "goals-api")
    assert app.deployed_entry_point() == "goals_api"
    monkeypatch.setenv(app.ENTRY_POINT_VARIABLE, "sessions_api")
    assert app.deployed_entry_point() == "sessions_api"


def test_an_unknown_or_stale_entry_point_stops_the_start(monkeypatch):
    app.load()
    with pytest.raises(ValueError, match="not in targets.json"):
        app.load("no_such_api")
    stale = {**TARGETS, "goals_api": {**TARGETS["goals_api"], "serves": TARGETS["goals_api"]["serves"][:-1]}}
    monkeypatch.setattr(app, "targets", lambda: stale)
    with pytest.raises(ValueError, match="run python -m shared.tools.generate"):
        app.load("goals_api")
    assert app.REGISTRY.entry_point is None


class Args(TaskArgs):
    def task_key(self) -> str:
        return "k"


def test_a_function_checks_what_it_serves_and_not_what_it_only_schedules():
    registry = Registry()
    registry.queue("q", QueueOptions())
    registry.worker("encoder", FunctionOptions())
    ran = registry.task("ran_by_handler", queue="q", args=Args)
    registry.task("ran_by_worker", queue="q", args=Args, worker="encoder")  # its module is not loaded: no handler
    ran.handles(lambda args: "done")
    registry.check("task_handler")
    with pytest.raises(ValueError, match="task ran_by_worker has no handler"):
        registry.check("encoder")
    with pytest.raises(ValueError, match="task ran_by_worker has no handler"):
        registry.check()
    with pytest.raises(ValueError, match="entry point goals_api serves nothing"):
        registry.check("goals_api")
