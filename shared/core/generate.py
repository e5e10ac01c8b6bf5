"""Writes what is derived from the registry: the OpenAPI document and the terraform variables.

    .venv/bin/python -m shared.core.generate          # write
    .venv/bin/python -m shared.core.generate --check  # exit 1 when a checked-in file drifted
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

from shared import app
from shared.core import openapi
from shared.core.options import FunctionOptions
from shared.core.registry import Registry, kebab

ROOT = pathlib.Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "functions" / "openapi.json"
TFVARS = ROOT / "infra" / "terraform" / "registry.auto.tfvars.json"


def _function(options: FunctionOptions, *, retried: bool) -> dict:
    """A function's options as flat terraform fields; only receivers (pushed by Pub/Sub) are
    retried by the platform, HTTP functions by their callers, so only they carry the retry policy."""
    fields = options.variables()
    retry = fields.pop("retry")
    return {**fields, **(retry if retried else {})}


def terraform_variables(registry: Registry) -> dict:
    http = {
        f"{kebab(surface)}-api": {
            "entry_point": f"{surface}_api",
            "source": "functions/api.py",
            "public": True,
            "routes": sorted(f"{r.method} {r.path}" for r in registry.routes if r.surface == surface),
            **_function(registry.surface_options[surface], retried=False),
        }
        for surface in registry.surfaces
    }
    http["task-handler"] = {"entry_point": "task_handler", "source": "functions/tasks.py", "public": False,
                            "routes": sorted(f"POST /{name}" for name in registry.tasks),
                            **_function(registry.task_handler_options, retried=False)}
    return {
        "http_functions": http,
        "receivers": {
            fn: {"entry_point": r.entry_point, "source": "functions/receivers.py",
                 "topic": r.source.topic, "signal": r.signal, **_function(r.options, retried=True)}
            for fn, r in sorted(registry.receivers.items())
        },
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


def rendered(registry: Registry) -> dict[pathlib.Path, str]:
    return {
        OPENAPI: json.dumps(openapi.document(registry), indent=2, sort_keys=True) + "\n",
        TFVARS: json.dumps(terraform_variables(registry), indent=2, sort_keys=True) + "\n",
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
        for path in stale:
            print(f"{path} differs from the registry: run python -m shared.core.generate", file=sys.stderr)
        return 1 if stale else 0
    for path, text in rendered(registry).items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
