"""One local process that mounts every deployed function's functions-framework app.

    /receivers/{function}  each receiver's CloudEvent function (Pub/Sub emulator push target)
    /tasks/{task}          the task handler (Cloud Tasks emulator target)
    anything else          the HTTP function whose surface owns the path (as the API gateway would)

Messages reach receivers only through the emulators, never as in-process calls.
"""
from __future__ import annotations

import argparse
import logging
import pathlib

from functions_framework import create_app
from werkzeug.serving import make_server

from shared import app as features
from shared.core.http import surface_for

FUNCTIONS = pathlib.Path(__file__).resolve().parents[2] / "functions"


class Host:
    def __init__(self):
        registry = features.load()
        self.receivers = {
            function: create_app(r.entry_point, str(FUNCTIONS / "receivers.py"), "cloudevent")
            for function, r in registry.receivers.items()
        }
        self.tasks = create_app("task_handler", str(FUNCTIONS / "tasks.py"), "http")
        self.surfaces = {s: create_app(f"{s}_api", str(FUNCTIONS / "api.py"), "http") for s in registry.surfaces}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        parts = path.strip("/").split("/")
        if parts[0] == "receivers" and len(parts) == 2 and parts[1] in self.receivers:
            return self.receivers[parts[1]](environ, start_response)
        if parts[0] == "tasks":
            return self.tasks(environ, start_response)
        return self.surfaces[surface_for(path) or "meta"](environ, start_response)  # meta answers a JSON 404


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = make_server(args.host, args.port, Host(), threaded=True)
    logging.getLogger(__name__).info("functions host serving on http://%s:%s", args.host, args.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
