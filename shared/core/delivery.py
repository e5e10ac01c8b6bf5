"""Running receivers (Pub/Sub messages) and tasks (Cloud Tasks requests) from their envelopes.

A failure worth retrying raises (a receiver: Pub/Sub redelivers, then dead-letters) or answers
non-2xx (a task: Cloud Tasks retries). A permanent one (`AppError.retryable` False: the goal no
longer exists, it has already ended; task arguments that can never parse) is logged and
acknowledged instead: no retry can fix it. A message that does not parse is raised, not dropped:
after its retries it waits on the dead-letter topic (a newer sender during a deploy, say).
"""
from __future__ import annotations

import json
import logging
import os

from pydantic import ValidationError

from shared.core import logs, options, signals, steps, tasks
from shared.core.errors import AlreadyApplied, AppError, NotFound, Retry, ValidationFailed, pydantic_details
from shared.core.registry import REGISTRY

log = logging.getLogger(__name__)


def settle(exc: AppError, what: str) -> str:
    """A refusal a retry could change is raised again; a permanent one is logged and acknowledged."""
    if exc.retryable:
        raise exc
    log.warning("%s dropped: %s", what, exc.message)
    return f"dropped: {exc.code}"


def receive(function: str, message: dict) -> str:
    """Run one receiver on one Pub/Sub message. Raising makes Pub/Sub redeliver (then dead-letter)."""
    receiver = REGISTRY.receivers[function]
    msg = signals.decode(message)
    with logs.bound(receiver=function, message_id=msg.message_id, trace=msg.trace or os.urandom(16).hex()), \
            options.declared(receiver.options):
        return _receive(function, receiver, msg)


def _receive(function: str, receiver, msg: signals.Message) -> str:
    signal = receiver.source
    if msg.sender != signal.sender:
        log.error("%s got a message of %r; dropped", function, msg.sender)
        return "dropped"
    try:
        event = signal.payload.model_validate(msg.payload)
    except ValidationError as exc:
        raise ValueError(f"{function} got a malformed {msg.sender}: {exc}") from None
    if signal.period is not None:  # a clock: each period is one event (the message id without a publish time)
        event_id = signal.event_id(event, msg.published_at) if msg.published_at else f"{signal.sender}:{msg.message_id}"
    else:  # the business id in the payload names the event: a forged id cannot take another event's place
        event_id = signal.event_id(event)
        if msg.event_id != event_id:
            log.error("%s got %s for %s under the event id %r; dropped", function, msg.sender, event_id, msg.event_id)
            return "dropped"
    if not receiver.applies(event):
        return "not for this receiver"
    with logs.bound(event_id=event_id):
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
            return settle(exc, f"{function} on {event_id}")


def run_task(name: str, body: bytes, signature: str | None, trace: str | None = None) -> tuple[int, dict]:
    """Verify, parse and run one task request; a non-2xx answer makes Cloud Tasks retry it."""
    with logs.bound(task=name, trace=logs.trace_from_header(trace) or os.urandom(16).hex()), \
            options.declared(REGISTRY.function_options(REGISTRY.tasks[name]) if name in REGISTRY.tasks
                             else REGISTRY.task_handler_options):
        return _run_task(name, body, signature)


def _run_task(name: str, body: bytes, signature: str | None) -> tuple[int, dict]:
    try:
        spec = REGISTRY.tasks.get(name)
        if spec is None:  # retried: during a deploy an older handler may get a newer task
            raise NotFound(f"no task {name}")
        tasks.verify(name, body, signature)  # retried: the secret may be rotating
        try:
            args = spec.args.model_validate(json.loads(body or b"null"))
        except (ValueError, RecursionError, ValidationError) as exc:
            details = pydantic_details(exc, "body") if isinstance(exc, ValidationError) else None
            bad = ValidationFailed("bad task arguments", details=details)
            log.error("task %s has arguments no retry can fix: %s; dropped", name, details)
            return 200, {"task": name, "result": f"dropped: {bad.code}"}
        if spec.handler is None:  # Registry.check() refuses a task without one
            raise TypeError(f"task {name} has no handler")
        try:
            return 200, {"task": name, "result": spec.handler(args)}
        except AlreadyApplied as repeat:
            if repeat.flushed:
                return 200, {"task": name, "result": "repeat"}
            raise Retry("effects of the first run are not out yet") from None
        except AppError as exc:
            return 200, {"task": name, "result": settle(exc, f"task {name}")}
    except AppError as exc:
        return exc.status, exc.body()
