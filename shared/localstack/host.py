"""One local process that mounts every deployed function's functions-framework app.

    /receivers/{function}  each receiver's CloudEvent function (Pub/Sub emulator push target)
    /tasks/{task}          the task handler (Cloud Tasks emulator target)
    anything else          the HTTP function whose surface owns the path (as the API gateway would)

Messages reach receivers only through the emulators, never as in-process calls. Pushes must carry
the stack's PUSH_TOKEN (provisioning puts it in every push endpoint's URL): in the cloud OIDC and
Cloud Run's invoker IAM keep strangers away from receivers, here the token does.
"""
from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import pathlib
from urllib.parse import parse_qs

from functions_framework import create_app
from werkzeug.serving import WSGIRequestHandler, make_server

from shared import app as features
from shared.core import logs
from shared.core.http import surface_for

FUNCTIONS = pathlib.Path(__file__).resolve().parents[2] / "functions"


class RequestHandler(WSGIRequestHandler):
    """Errors the server answers itself, before any app runs (a request line or a header too long:
    414, 431; a malformed request line: 400), as our JSON errors rather than http.server's HTML."""

    error_content_type = "application/json"
    # http.server fills in %(code)d, %(message)s and %(explain)s, HTML-escaped only: send_error makes
    # them JSON-safe first, and passes our error code (the reason in snake case) as `explain`.
    error_message_format = '{"error": {"code": "%(explain)s", "message": "%(message)s", "details": null}}'

    def send_error(self, code, message=None, explain=None):
        reason = self.responses.get(code, ("Error",))[0]
        name = "_".join("".join(c if c.isalnum() else " " for c in reason.lower()).split())
        text = f"{message or reason}: {explain}" if explain else message or reason
        super().send_error(code, json.dumps(text)[1:-1], name)

    def log_request(self, code="-", size="-"):  # one plain line, without werkzeug's terminal colours
        logging.getLogger("werkzeug").info('"%s" %s %s', getattr(self, "requestline", ""), code, size)


class Host:
    def __init__(self):
        registry = features.load()
        self.receivers = {
            function: create_app(r.entry_point, str(FUNCTIONS / "receivers.py"), "cloudevent")
            for function, r in registry.receivers.items()
        }
        self.tasks = create_app("task_handler", str(FUNCTIONS / "tasks.py"), "http")
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
            return self.tasks(environ, start_response)
        return self.surfaces[surface_for(path) or "meta"](environ, start_response)  # meta answers a JSON 404


    def _pushed(self, environ) -> bool:
        given = parse_qs(environ.get("QUERY_STRING", "")).get("token", [""])[0]
        return hmac.compare_digest(given.encode(), self.push_token.encode())


def _refuse(start_response):
    body = json.dumps({"error": {"code": "forbidden", "message": "not a push from this stack", "details": None}})
    start_response("403 FORBIDDEN", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body.encode()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logs.setup()
    server = make_server(args.host, args.port, Host(), threaded=True, request_handler=RequestHandler)
    logging.getLogger(__name__).info("functions host serving on http://%s:%s", args.host, args.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
