"""Running receivers (Pub/Sub messages) and tasks (Cloud Tasks requests) from their envelopes.

A failure worth retrying raises (a receiver: Pub/Sub redelivers, then dead-letters) or answers
non-2xx (a task: Cloud Tasks retries). A permanent one (`AppError.retryable` False: the goal no
longer exists, it has already ended) is logged and acknowledged instead: no retry can fix it.
"""
from __future__ import annotations

import json
import logging
import os

from pydantic import ValidationError

from shared.core import logs, signals, steps, tasks
from shared.core.errors import AlreadyApplied, AppError, NotFound, Retry, ValidationFailed, pydantic_details
from shared.core.registry import REGISTRY

log = logging.getLogger(__name__)


def receive(function: str, message: dict) -> str:
    """Run one receiver on one Pub/Sub message. Raising makes Pub/Sub redeliver (then dead-letter)."""
    receiver = REGISTRY.receivers[function]
    msg = signals.decode(message)
    signal = receiver.source
    event_id = signal.event_id(None, msg.published_at) if signal.period else msg.event_id
    with logs.bound(receiver=function, event_id=event_id, trace=msg.trace or os.urandom(16).hex()):
        return _receive(function, receiver, msg, event_id)


def _receive(function: str, receiver, msg: signals.Message, event_id: str) -> str:
    signal = receiver.source
    if msg.sender != signal.sender or not event_id:
        log.error("%s got a message of %r without an event id; dropped", function, msg.sender)
        return "dropped"
    try:
        event = signal.payload.model_validate(msg.payload)
    except ValidationError as exc:  # no redelivery makes a malformed message valid
        log.error("%s got a malformed %s: %s; dropped", function, msg.sender, exc)
        return "dropped"
    if not receiver.applies(event):
        return "not for this receiver"
    try:
        if not receiver.step:  # idempotent by itself (and may do I/O a transaction must not)
            return receiver.handler(event)
        steps.run(f"{receiver.name}@{event_id}", lambda txn, fx: receiver.handler(txn, fx, event),
                  claim=receiver.claim(event) if receiver.claim else None)
        return "applied"
    except AlreadyApplied as repeat:
        if not repeat.flushed:  # the first run is still sending (or died sending) its effects
            raise Retry("effects of the first delivery are not out yet") from None
        return "repeat"
    except AppError as exc:
        if exc.retryable:
            raise
        log.warning("%s dropped %s: %s", function, event_id, exc.message)
        return f"dropped: {exc.code}"


def run_task(name: str, body: bytes, signature: str | None, trace: str | None = None) -> tuple[int, dict]:
    """Verify, parse and run one task request; a non-2xx answer makes Cloud Tasks retry it."""
    with logs.bound(task=name, trace=logs.trace_from_header(trace) or os.urandom(16).hex()):
        return _run_task(name, body, signature)


def _run_task(name: str, body: bytes, signature: str | None) -> tuple[int, dict]:
    try:
        spec = REGISTRY.tasks.get(name)
        if spec is None:
            raise NotFound(f"no task {name}")
        tasks.verify(name, body, signature)
        try:
            args = spec.args.model_validate(json.loads(body or b"null"))
        except (ValueError, RecursionError, ValidationError) as exc:
            details = pydantic_details(exc, "body") if isinstance(exc, ValidationError) else None
            raise ValidationFailed("bad task arguments", details=details) from None
        try:
            return 200, {"task": name, "result": spec.handler(args)}
        except AlreadyApplied as repeat:
            if repeat.flushed:
                return 200, {"task": name, "result": "repeat"}
            raise Retry("effects of the first run are not out yet") from None
        except AppError as exc:
            if exc.retryable:
                raise
            log.warning("task %s dropped: %s", name, exc.message)
            return 200, {"task": name, "result": f"dropped: {exc.code}"}
    except AppError as exc:
        return exc.status, exc.body()
