"""One local process that mounts every deployed function's functions-framework app.

    /receivers/{function}  each receiver's CloudEvent function (Pub/Sub emulator push target)
    /tasks/{task}          the task handler, or the task's worker (Cloud Tasks emulator target)
    anything else          the HTTP function whose surface owns the path (as the API gateway would)

Messages reach receivers only through the emulators, never as in-process calls. Pushes must carry
the stack's PUSH_TOKEN (provisioning puts it in every push endpoint's URL): in the cloud OIDC and
Cloud Run's invoker IAM keep strangers away from receivers, here the token does.
"""
from __future__ import annotations

import hmac
import json
import os
import pathlib
from urllib.parse import parse_qs

from functions_framework import create_app

from shared import app as features
from shared.core.http import surface_for
from shared.core.registry import TASK_HANDLER
from shared.localstack.serving import serve

FUNCTIONS = pathlib.Path(__file__).resolve().parents[2] / "functions"


class Host:
    def __init__(self):
        registry = features.load()
        self.receivers = {
            function: create_app(r.entry_point, str(FUNCTIONS / "receivers.py"), "cloudevent")
            for function, r in registry.receivers.items()
        }
        self.registry = registry
        self.tasks = {function: create_app(function.replace("-", "_"), str(FUNCTIONS / "tasks.py"), "http")
                      for function in [TASK_HANDLER, *registry.worker_options]}
        self.surfaces = {s: create_app(f"{s}_api", str(FUNCTIONS / "api.py"), "http") for s in registry.surfaces}
        self.push_token = os.environ.get("PUSH_TOKEN", "")

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        parts = path.strip("/").split("/")
        if parts[0] == "receivers" and len(parts) == 2 and parts[1] in self.receivers:
            if not self._pushed(environ):
                return _refuse(start_response)
            return self.receivers[parts[1]](environ, start_response)
        if parts[0] == "tasks":
            task = self.registry.tasks.get(parts[-1])
            return self.tasks[task.function if task else TASK_HANDLER](environ, start_response)
        return self.surfaces[surface_for(path) or "meta"](environ, start_response)  # meta answers a JSON 404


    def _pushed(self, environ) -> bool:
        given = parse_qs(environ.get("QUERY_STRING", "")).get("token", [""])[0]
        return hmac.compare_digest(given.encode(), self.push_token.encode())


def _refuse(start_response):
    body = json.dumps({"error": {"code": "forbidden", "message": "not a push from this stack", "details": None}})
    start_response("403 FORBIDDEN", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body.encode()]


def main() -> None:
    serve(Host, description=__doc__, default_port=8080, what="functions host")


if __name__ == "__main__":
    main()
