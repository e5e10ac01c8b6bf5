"""Writes what is derived from the registry: the OpenAPI document, the terraform variables and
the modules each deployed function loads (functions/targets.json, read by shared.app.load).

    .venv/bin/python -m shared.tools.generate          # write
    .venv/bin/python -m shared.tools.generate --check  # exit 1 when a checked-in file drifted
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

from shared import app
from shared.core import openapi
from shared.core.options import FunctionOptions
from shared.core.registry import TASK_HANDLER, Registry, kebab, task_entry_point

ROOT = pathlib.Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "functions" / "openapi.json"
TFVARS = ROOT / "infra" / "terraform" / "registry.auto.tfvars.json"
TARGETS = app.TARGETS


def _function(kind: str, entry_point: str, source: str, options: FunctionOptions, **fields) -> dict:
    """One entry of var.functions: its kind, code and options as flat terraform fields, plus the
    fields of its kind. Only receivers (pushed by Pub/Sub) are retried by the platform, HTTP
    functions by their callers, so only receivers carry the retry policy."""
    variables = options.variables()
    retry = variables.pop("retry")
    return {"kind": kind, "entry_point": entry_point, "source": source, **variables, **fields,
            **(retry if kind == "receiver" else {})}


def terraform_variables(registry: Registry) -> dict:
    # Every deployed function in one map (terraform validates and deploys them in one place);
    # an http function has `public` and `routes`, a receiver its topic, signal and retry policy.
    functions = {
        f"{kebab(surface)}-api": _function(
            "http", f"{surface}_api", "functions/api.py", registry.surface_options[surface], public=True,
            routes=sorted(f"{r.method} {r.path}" for r in registry.routes if r.surface == surface))
        for surface in registry.surfaces
    }
    for worker, options in [(TASK_HANDLER, registry.task_handler_options), *sorted(registry.worker_options.items())]:
        functions[worker] = _function(
            "http", worker.replace("-", "_"), "functions/tasks.py", options, public=False,
            routes=sorted(f"POST /{t.name}" for t in registry.tasks.values() if t.function == worker))
    for fn, r in sorted(registry.receivers.items()):
        functions[fn] = _function("receiver", r.entry_point, "functions/receivers.py", r.options,
                                  topic=r.source.topic, signal=r.signal)
    return {
        "functions": functions,
        "topics": registry.topics,
        "queues": {
            q: {"tasks": sorted(t.name for t in registry.tasks.values() if t.queue == q),
                **registry.queue_options[q].variables()}
            for q in registry.queues
        },
        "buckets": {
            name: {"purpose": b.purpose, "notification_topic": b.notify.topic if b.notify else None}
            for name, b in sorted(registry.buckets.items())
        },
    }


def targets(registry: Registry) -> dict:
    """Each entry point -> its function, source file, the modules it loads and what it serves.

    The modules are those that declare what the function serves: its routes' handlers and the
    owners they name, its receiver, its tasks' handlers (each imports what it uses in turn); every
    feature for a receiver declared with `full_registry`. The meta surface serves the generated
    openapi.json when deployed, so it needs no other feature either."""
    found = {}
    for entry_point, served in registry.entry_points().items():
        modules = {fn.__module__ for fn in served.handlers if fn is not None}
        modules |= {registry.owners[r.owner].module or "" for r in served.routes if r.owner}
        if any(r.full_registry for r in served.receivers):
            modules |= set(app.FEATURES)
        if served.routes:
            function, source = f"{kebab(served.routes[0].surface)}-api", "functions/api.py"
        elif served.receivers:
            function, source = served.receivers[0].function, "functions/receivers.py"
        else:
            function, source = next(f for f in [TASK_HANDLER, *registry.worker_options]
                                    if task_entry_point(f) == entry_point), "functions/tasks.py"
        found[entry_point] = {"function": function, "source": source, "modules": sorted(modules - {""}),
                              "serves": served.names}
    return found


def rendered(registry: Registry) -> dict[pathlib.Path, str]:
    return {
        OPENAPI: json.dumps(openapi.document(registry), indent=2, sort_keys=True) + "\n",
        TFVARS: json.dumps(terraform_variables(registry), indent=2, sort_keys=True) + "\n",
        TARGETS: json.dumps(targets(registry), indent=2, sort_keys=True) + "\n",
    }


def drifted(registry: Registry) -> list[str]:
    return [str(p.relative_to(ROOT)) for p, text in rendered(registry).items()
            if not p.exists() or p.read_text() != text]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    registry = app.load()
    if args.check:
        stale = drifted(registry)
        for name in stale:
            print(f"{name} differs from the registry: run python -m shared.tools.generate", file=sys.stderr)
        return 1 if stale else 0
    for path, text in rendered(registry).items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
