"""Serving a local stand-in (the functions host, the RTC OpenAPI) as a threaded WSGI server."""
from __future__ import annotations

import argparse
import json
import logging

from werkzeug.serving import WSGIRequestHandler, make_server

from shared.core import logs


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


def serve(make_app, *, description: str, default_port: int, what: str) -> None:
    """`--host`/`--port` from the command line, JSON logs, then serve `make_app()` until stopped."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    args = parser.parse_args()
    logs.setup()
    server = make_server(args.host, args.port, make_app(), threaded=True, request_handler=RequestHandler)
    logging.getLogger(__name__).info("%s serving on http://%s:%s", what, args.host, args.port)
    server.serve_forever()
