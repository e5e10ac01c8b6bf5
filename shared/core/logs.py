"""Structured logs in Cloud Logging's JSON format: one object per line on stderr.

    logs.setup()                                   # once per process (entry points, the local host)
    with logs.bound(step=key, event_id=event_id):  # every record logged inside carries these fields
        log.info("applied")

Cloud Logging reads `severity`, `message`, `time` and `logging.googleapis.com/trace` (which groups
a request's lines under its trace); every other key lands in jsonPayload.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

TRACE_KEY = "logging.googleapis.com/trace"
_TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")
_SEVERITIES = ((logging.CRITICAL, "CRITICAL"), (logging.ERROR, "ERROR"), (logging.WARNING, "WARNING"),
               (logging.INFO, "INFO"))

# A contextvar, not a thread-local: each request thread (and asyncio task) sees only its own fields.
_fields: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("log_fields", default={})  # noqa: B039 (never mutated: bound() sets a new dict)


def fields() -> dict[str, Any]:
    """The fields bound in the current context."""
    return dict(_fields.get())


@contextlib.contextmanager
def bound(**new: Any) -> Iterator[dict[str, Any]]:
    """Bind fields to everything logged inside the block; nested binds add to (or override) outer ones."""
    token = _fields.set({**_fields.get(), **new})
    try:
        yield fields()
    finally:
        _fields.reset(token)


def trace_from_header(value: str | None) -> str | None:
    """The trace id of an `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` header, or None."""
    trace = (value or "").split("/", 1)[0].split(";", 1)[0]
    return trace.lower() if _TRACE_ID.fullmatch(trace) else None


def severity(levelno: int) -> str:
    return next((name for level, name in _SEVERITIES if levelno >= level), "DEBUG")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)  # Error Reporting reads the traceback here
        if record.stack_info:
            message += "\n" + self.formatStack(record.stack_info)
        entry = {
            "severity": severity(record.levelno),
            "message": message,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "logger": record.name,
        }
        bound_now = _fields.get()
        if bound_now.get("trace"):
            project = os.environ.get("GOOGLE_CLOUD_PROJECT", "demo-local")
            entry[TRACE_KEY] = f"projects/{project}/traces/{bound_now['trace']}"
        entry.update({k: v for k, v in bound_now.items() if k not in entry})
        return json.dumps(entry, default=str)


class _Handler(logging.StreamHandler):
    """Marks the handler setup() installed, so a second call does not add another."""


def setup() -> None:
    """Log JSON lines (INFO and above) to stderr from the root logger; idempotent."""
    root = logging.getLogger()
    if any(isinstance(h, _Handler) for h in root.handlers):
        return
    handler = _Handler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
