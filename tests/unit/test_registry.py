"""The registry is consistent, and everything derived from it is up to date."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from shared import app
from shared.core import ids, openapi
from shared.core.http import surface_for
from shared.tools import generate
from tests.stack import ROOT

REGISTRY = app.load()


def test_receivers_listen_to_declared_signals_with_valid_unique_names():
    entry_points = [r.entry_point for r in REGISTRY.receivers.values()]
    assert len(entry_points) == len(set(entry_points))
    for function, receiver in REGISTRY.receivers.items():
        assert receiver.signal in REGISTRY.signals
        assert re.fullmatch(r"[a-z][a-z0-9-]{0,48}", function), function  # a Cloud Run service name
        assert receiver.entry_point.isidentifier()


def test_the_seed_receivers_are_wired_to_their_signals():
    wiring = {(r.signal, r.name) for r in REGISTRY.receivers.values()}
    assert {
        ("goal.created", "bind_show_goals_to_session"), ("goal.created", "schedule_lifecycle_tasks"),
        ("goal.created", "track_goals"), ("goal.added", "trigger_notify_goal_added"),
        ("goal.ended", "set_embedded_goal_ended"), ("goal.ended", "notify_goal_ended"),
        ("goal.ended", "trigger_show_escrow_refund"), ("goal.ended", "track_goals"),
    } <= wiring
    assert {"deactivate_goal", "check_funding_goal_refundable"} <= set(REGISTRY.tasks)


def exported(module: str) -> set[str]:
    """The callables an entry-point module under functions/ defines, imported in a fresh interpreter."""
    code = (
        f"import sys, json; sys.path.insert(0, 'functions'); import {module} as m;"
        "print(json.dumps([n for n in dir(m) if callable(getattr(m, n))]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_every_receiver_is_an_entry_point_of_functions_receivers():
    assert {r.entry_point for r in REGISTRY.receivers.values()} <= exported("receivers")


def test_topics_are_one_per_sender():
    topics = [s.topic for s in REGISTRY.signals.values()]
    assert len(topics) == len(set(topics))
    assert REGISTRY.signals["goal.ended"].topic == "goal-ended"


def example(route, param: str) -> str:
    """A value the parameter's format accepts: an id, or the first word of an alternation."""
    value = ids.new_id() if param.endswith("_id") else route.params[param].split("|")[0]
    assert re.fullmatch(route.params[param], value), (route.path, param)
    return value


def test_every_route_belongs_to_the_surface_that_serves_its_path():
    for route in REGISTRY.routes:
        concrete = route.path.format(**{p: example(route, p) for p in route.path_params})
        assert surface_for(concrete) == route.surface


def test_generated_files_match_the_registry():
    assert generate.drifted(REGISTRY) == [], "run: .venv/bin/python -m shared.tools.generate"


def test_openapi_describes_every_route_with_its_security():
    doc = openapi.document(REGISTRY)
    for route in REGISTRY.routes:
        op = doc["paths"][route.path][route.method.lower()]
        assert str(route.status) in op["responses"]
        assert op["security"] == [] if route.public else op["security"][0].keys() == {"bearer"}
        assert op["x-access"] == route.access
    post_goals = doc["paths"]["/goals"]["post"]
    assert post_goals["security"] == [{"bearer": ["role:creator"]}]
    assert post_goals["parameters"][0]["name"] == "type"
    body = doc["components"]["schemas"]["ShowFundingGoalCreate"]
    assert set(body["required"]) == {"levels", "exp", "context"}


def test_every_surface_is_an_entry_point_of_functions_api():
    assert {f"{surface}_api" for surface in REGISTRY.surfaces} <= exported("api")
