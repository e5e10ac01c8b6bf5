"""Idempotent steps: a state change, its idempotency marker and its side effects commit together.

A step runs `body(txn, fx)` in a Firestore transaction. The body reads and writes through `txn`
and records side effects on `fx` (publish a signal, schedule a task, notify Pusher) instead of
performing them: transaction functions are re-run on contention. The step's marker document
`steps/{key}` is created in the same transaction and holds those effects: it is the outbox.
After commit the effects are applied and the marker is stamped `flushed_at`.

A repeat delivery of the same key finds the marker, changes nothing, re-applies effects only
if an earlier run died between commit and flush, and raises `AlreadyApplied`. Applying effects
takes a lease on the marker, so concurrent repeats do not send them twice; a run that fails
while applying gives the lease back, one that dies loses it after LEASE_SECONDS. Progress is
recorded per effect, so a retry does not resend the effects that already went out.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from pydantic import BaseModel

from shared.core import clock
from shared.core.errors import AlreadyApplied
from shared.core.firestore import db, increment, run_transaction, where

log = logging.getLogger(__name__)
STEPS = "steps"
RETENTION_SECONDS = 35 * 24 * 3600  # markers outlive any redelivery: Cloud Tasks 30 d ahead, Pub/Sub 31 d
LEASE_SECONDS = 300  # well above what applying a step's few effects may take (publish waits <= 30 s)
MAX_FAILURES = 20


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


def run(key: str, body: Callable[[Any, Effects], Any], *, redelivered: bool = True) -> Any:
    """Apply the step `key` once. Returns what `body` returned; raises AlreadyApplied on a repeat.

    `redelivered`: the caller's delivery is retried on failure (Pub/Sub, Cloud Tasks), so an error
    while applying effects is raised for the retry to make good. An HTTP request is not: its state
    change has committed, so the caller gets its answer and `sweep` applies the effects later.
    """
    ref = marker(key)

    def attempt(txn):
        if ref.get(transaction=txn).exists:
            return None
        fx = Effects()
        result = body(txn, fx)
        now = clock.now()
        txn.create(ref, {"key": key, "applied_at": now, "effects": fx.items, "flushed_at": None,
                         "lease_until": now + LEASE_SECONDS, "repeats": 0,
                         # a Timestamp: the field Firestore's TTL policy (infra/terraform) deletes by
                         "expire_at": datetime.fromtimestamp(now + RETENTION_SECONDS, timezone.utc)})
        return (result,)

    # a repeat is the common case under at-least-once delivery: see it without taking locks
    applied = None if ref.get().exists else run_transaction(attempt)
    if applied is None:
        ref.update({"repeats": increment(1)})  # observable: a repeat was seen and changed nothing
        raise AlreadyApplied(f"step {key} was already applied", flushed=flush(key))
    try:
        _apply_all(ref)  # this run holds the lease it committed with
    except Exception:
        if redelivered:
            raise
        log.exception("effects of step %s deferred to the sweep", key)
    return applied[0]


def flush(key: str) -> bool:
    """Apply the step's effects unless that already happened; False while another run holds the lease."""
    ref = marker(key)

    def claim(txn):
        snap = ref.get(transaction=txn)
        state = snap.to_dict() if snap.exists else {}
        if not snap.exists or state.get("flushed_at") is not None:
            return "done"
        if (state.get("lease_until") or 0) > clock.now():
            return "busy"
        txn.update(ref, {"lease_until": clock.now() + LEASE_SECONDS})
        return "claimed"

    outcome = run_transaction(claim)
    if outcome == "claimed":
        _apply_all(ref)
    return outcome != "busy"


def sweep(older_than: float = 60, limit: int = 200) -> dict[str, int]:
    """Apply the effects of steps whose run died or failed after commit (Cloud Scheduler's tick).

    One marker that keeps failing does not hold up the others; after MAX_FAILURES it is left for
    an operator (logged with its last error) instead of being retried every tick.
    """
    cutoff = clock.now() - older_than
    stale = [s.to_dict() for s in where(STEPS, flushed_at=None).limit(limit).stream()]
    stale = [m for m in stale if m["applied_at"] < cutoff and m.get("failures", 0) < MAX_FAILURES]
    flushed = 0
    for state in stale:
        try:
            flushed += flush(state["key"])
        except Exception:
            log.exception("sweep could not apply the effects of %s", state["key"])
    return {"stale": len(stale), "flushed": flushed}


def _apply_all(ref) -> None:
    """Apply the effects not yet applied, recording progress after each, so a retry resumes."""
    snap = ref.get()
    done = snap.to_dict().get("effects_done", 0)
    effects = snap.get("effects")
    try:
        for index in range(done, len(effects)):
            apply(effects[index], origin=f"{snap.get('key')}#{index}")
            if index + 1 < len(effects):
                ref.update({"effects_done": index + 1})
    except Exception as exc:
        ref.update({"lease_until": 0, "failures": increment(1), "last_error": repr(exc)[:500]})
        raise
    ref.update({"flushed_at": clock.now(), "lease_until": 0, "effects_done": len(effects)})


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
