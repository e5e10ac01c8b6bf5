"""Idempotent steps: a state change, its idempotency marker and its side effects commit together.

A step runs `body(txn, fx)` in a Firestore transaction. The body reads and writes through `txn`
and records side effects on `fx` (publish a signal, schedule a task, notify Pusher) instead of
performing them: transaction functions are re-run on contention. The step's marker document
`steps/{key}` is created in the same transaction and holds those effects: it is the outbox.
After commit the effects are applied and the marker is stamped `flushed_at`.

A repeat delivery of the same key finds the marker, changes nothing, re-applies effects only
if an earlier run died between commit and flush, and raises `AlreadyApplied`.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel

from shared.core import clock
from shared.core.errors import AlreadyApplied
from shared.core.firestore import db, increment, run_transaction

log = logging.getLogger(__name__)
STEPS = "steps"


def _doc_id(key: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9:@._-]", "_", key)
    return safe if len(safe) <= 400 else safe[:300] + hashlib.sha256(key.encode()).hexdigest()


def _plain(data: BaseModel | dict) -> dict:
    return data.model_dump(mode="json", by_alias=True) if isinstance(data, BaseModel) else data


@dataclass
class Effects:
    """Side effects recorded inside a transaction, applied once it has committed."""

    items: list[dict] = field(default_factory=list)

    def publish(self, sender: str, payload: BaseModel | dict) -> None:
        self.items.append({"kind": "publish", "sender": sender, "payload": _plain(payload)})

    def schedule(self, task: str, args: BaseModel | dict, at: float) -> None:
        self.items.append({"kind": "schedule", "task": task, "args": _plain(args), "at": at})

    def notify(self, channels: list[str], event: str, data: BaseModel | dict) -> None:
        self.items.append({"kind": "notify", "channels": channels, "event": event, "data": _plain(data)})


def marker(key: str):
    return db().collection(STEPS).document(_doc_id(key))


def run(key: str, body: Callable[[Any, Effects], Any]) -> Any:
    """Apply the step `key` once. Returns what `body` returned; raises AlreadyApplied on a repeat."""
    ref = marker(key)

    def attempt(txn):
        if ref.get(transaction=txn).exists:
            return AlreadyApplied(f"step {key} was already applied")
        fx = Effects()
        result = body(txn, fx)
        txn.create(ref, {"key": key, "applied_at": clock.now(), "effects": fx.items, "flushed_at": None, "repeats": 0})
        return result

    result = run_transaction(attempt)
    if isinstance(result, AlreadyApplied):
        ref.update({"repeats": increment(1)})  # observable: a repeat was seen and changed nothing
        flush(key)
        raise result
    flush(key)
    return result


def flush(key: str) -> None:
    """Apply the step's recorded effects unless that already happened."""
    ref = marker(key)
    snap = ref.get()
    if not snap.exists or snap.get("flushed_at") is not None:
        return
    event_base = snap.get("key")
    for index, effect in enumerate(snap.get("effects")):
        apply(effect, origin=f"{event_base}#{index}")
    ref.update({"flushed_at": clock.now()})


def apply(effect: dict, origin: str) -> None:
    kind = effect["kind"]
    if kind == "publish":
        from shared.core import signals

        signals.publish(effect["sender"], effect["payload"])
    elif kind == "schedule":
        from shared.core import tasks

        tasks.schedule(effect["task"], effect["args"], effect["at"])
    elif kind == "notify":
        from shared.realtime import pusher

        pusher.trigger(effect["channels"], effect["event"], effect["data"])
    else:  # a marker written by a newer version of the code
        raise ValueError(f"unknown effect kind {kind!r} in {origin}")
