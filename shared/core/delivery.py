"""Running receivers (Pub/Sub messages) and tasks (Cloud Tasks requests) from their envelopes."""
from __future__ import annotations

import json
import logging

from pydantic import ValidationError

from shared.core import signals, steps, tasks
from shared.core.errors import (
    AlreadyApplied,
    AppError,
    NotFound,
    Retry,
    ValidationFailed,
    pydantic_details,
)
from shared.core.registry import REGISTRY

log = logging.getLogger(__name__)


def receive(function: str, message: dict) -> str:
    """Run one receiver on one Pub/Sub message. Raising makes Pub/Sub redeliver (then dead-letter)."""
    receiver = REGISTRY.receivers[function]
    sender, event_id, payload = signals.decode(message)
    if sender != receiver.signal or not event_id:
        log.error("%s got a message of %r without an event id; dropped", function, sender)
        return "dropped"
    event = REGISTRY.signals[sender].payload.model_validate(payload)
    if not receiver.applies(event):
        return "not for this receiver"
    if not receiver.step:  # idempotent by itself (and may do I/O a transaction must not)
        return receiver.handler(event)
    try:
        steps.run(f"{receiver.name}@{event_id}", lambda txn, fx: receiver.handler(txn, fx, event))
        return "applied"
    except AlreadyApplied as repeat:
        if not repeat.flushed:  # the first run is still sending (or died sending) its effects
            raise Retry("effects of the first delivery are not out yet") from None
        return "repeat"


def run_task(name: str, body: bytes, signature: str | None) -> tuple[int, dict]:
    """Verify, parse and run one task request; a non-2xx answer makes Cloud Tasks retry it."""
    try:
        spec = REGISTRY.tasks.get(name)
        if spec is None:
            raise NotFound(f"no task {name}")
        tasks.verify(name, body, signature)
        try:
            args = spec.args.model_validate(json.loads(body or b"null"))
        except (ValueError, ValidationError) as exc:
            details = pydantic_details(exc, "body") if isinstance(exc, ValidationError) else str(exc)
            raise ValidationFailed("bad task arguments", details=details) from None
        return 200, {"task": name, "result": spec.handler(args)}
    except AlreadyApplied as repeat:
        if repeat.flushed:
            return 200, {"task": name, "result": "repeat"}
        pending = Retry("effects of the first run are not out yet")
        return pending.status, pending.body()
    except AppError as exc:
        return exc.status, exc.body()
