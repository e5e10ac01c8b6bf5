"""Idempotent steps: a state change, its idempotency marker and its side effects commit together.

A step runs `body(txn, fx)` in a Firestore transaction. The body reads and writes through `txn`
and records side effects on `fx` (publish a signal, schedule a task, notify Pusher) instead of
performing them: transaction functions are re-run on contention. Effects take the registry's
handles and models and are checked when recorded, so a misspelt signal or a wrong task argument
aborts the transaction instead of failing in the outbox later. The step's marker document
`steps/{key}` is created in the same transaction and holds those effects: it is the outbox.
After commit the effects are applied and the marker is stamped `flushed_at`.

A repeat delivery of the same key finds the marker, changes nothing, re-applies effects only
if an earlier run died between commit and flush, and raises `AlreadyApplied`. Applying effects
takes a lease on the marker, so concurrent repeats do not send them twice; a run that fails
while applying gives the lease back, one that dies loses it after LEASE_SECONDS. Progress is
recorded per effect, so a retry does not resend the effects that already went out. Markers
whose effects did not go out carry `sweep_at`, when the maintenance tick's sweep takes them up.
"""
from __future__ import annotations

import hashlib
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from shared.core import claims, clock, logs, options, pusher, signals, tasks
from shared.core.config import settings
from shared.core.errors import AlreadyApplied, AppError, Busy, Retry
from shared.core.firestore import Txn, db, increment, run_transaction, where
from shared.core.registry import REGISTRY, Signal, Task, TaskArgs

log = logging.getLogger(__name__)
STEPS = "steps"
RETENTION_SECONDS = 35 * 24 * 3600  # markers outlive any redelivery: Cloud Tasks 30 d ahead, Pub/Sub 31 d
LEASE_SECONDS = 300  # well above what applying a step's few effects may take (publish waits <= 30 s)
MAX_FAILURES = 20  # then every further failure is logged as an error for an operator
MAX_RETRY_IN = 3600  # seconds between sweeps of a marker that keeps failing: it is never given up
SWEEP_BUDGET = 240  # seconds one sweep may spend (the sweeper's timeout is 300)
CLAIM_WAIT = 5.0  # seconds a run queues behind another one changing the same resource


def _doc_id(key: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9:@._-]", "_", key)
    if safe == key and len(key) <= 400:
        return key
    return safe[:300] + "~" + hashlib.sha256(key.encode()).hexdigest()  # distinct keys stay distinct


@dataclass
class Effects:
    """Side effects recorded inside a transaction, applied once it has committed."""

    items: list[dict] = field(default_factory=list)

    def publish(self, signal: Signal, payload: BaseModel) -> None:
        if not isinstance(signal, Signal) or REGISTRY.signals.get(signal.sender) is not signal:
            raise TypeError(f"{signal!r} is not a declared signal")
        self.items.append({"kind": "publish", "sender": signal.sender, "payload": signal.checked(payload)})

    def schedule(self, task: Task, args: TaskArgs, at: float) -> None:
        if not isinstance(task, Task) or REGISTRY.tasks.get(task.name) is not task:
            raise TypeError(f"{task!r} is not a declared task")
        options.requires("TASK_SECRET", f"scheduling {task.name}")  # tasks are signed
        self.items.append({"kind": "schedule", "task": task.name, "args": task.checked(args), "at": float(at)})

    def notify(self, channels: list[str], event: str, data: BaseModel) -> None:
        options.requires("PUSHER_SECRET", f"notifying {event}")
        plain = data.model_dump(mode="json", by_alias=True)
        pusher.encode(plain)  # over Pusher's 10 KB limit: refused now, not by Pusher after commit
        self.items.append({"kind": "notify", "channels": list(channels), "event": event, "data": plain})


@dataclass(frozen=True)
class ClientKey:
    """A request's Idempotency-Key, scoped to its caller: the step key it becomes, and what the
    marker keeps so that a retry gets the same answer (the request's hash, the answer's status)."""

    step_key: str
    request_hash: str
    status: int


def marker(key: str):
    return db().collection(STEPS).document(_doc_id(key))


def run(key: str, body: Callable[[Any, Effects], Any], *, redelivered: bool = True, claim: str | None = None,
        precheck: Callable[[], None] | None = None, client_key: ClientKey | None = None) -> Any:
    """Apply the step `key` once. Returns what `body` returned; raises AlreadyApplied on a repeat.

    `redelivered`: the caller's delivery is retried on failure (Pub/Sub, Cloud Tasks), so an error
    while applying effects is raised for the retry to make good. An HTTP request is not: its state
    change has committed, so the caller gets its answer and `sweep` applies the effects later.
    `claim`: the resource the body changes (e.g. `goal:{id}`); concurrent runs on it queue up
    (claims.py) instead of contending inside the transaction; `precheck` (no transaction, may raise
    the rule's refusal) runs while they wait, so once the winner commits the others are refused at
    once instead of one after the other. `client_key`: the step is keyed by
    the client's Idempotency-Key instead, and its marker keeps the request's hash and the result.
    """
    key = client_key.step_key if client_key else key
    with logs.bound(step=key):
        return _run(key, body, redelivered, claim, precheck or (lambda: None), client_key)


def _run(key: str, body, redelivered: bool, claim: str | None, precheck, client_key: ClientKey | None) -> Any:
    ref = marker(key)

    def attempt(txn: Txn):
        if ref.get(transaction=txn).exists:
            return None
        fx = Effects()
        result = body(txn, fx)
        now, pending = clock.now(), bool(fx.items)
        state = {"key": key, "applied_at": now, "effects": fx.items, "flushed_at": None if pending else now,
                 "lease_until": now + LEASE_SECONDS if pending else 0, "repeats": 0,
                 "sweep_at": now + settings().sweep_after if pending else None,
                 "trace": logs.fields().get("trace"),  # effects carry it on, wherever they are applied
                 # a Timestamp: the field Firestore's TTL policy (infra/terraform) deletes by
                 "expire_at": datetime.fromtimestamp(now + RETENTION_SECONDS, UTC)}
        if client_key is not None:
            plain = result.model_dump(mode="json", by_alias=True) if isinstance(result, BaseModel) else result
            state |= {"request_hash": client_key.request_hash, "response": {"status": client_key.status, "body": plain}}
        txn.create(ref, state)
        return result, pending

    # a repeat is the common case under at-least-once delivery: see it without taking locks
    if ref.get().exists:
        _repeat(key, redelivered)
    if claim is None:
        applied = run_transaction(attempt)
    else:
        try:
            with claims.held(claim, wait=CLAIM_WAIT, ready=lambda: _done_or_refused(ref, precheck)) as mine:
                applied = run_transaction(attempt) if mine else None
        except claims.ClaimTimeout:
            if redelivered:
                raise Retry(f"{claim} is busy") from None
            raise Busy(f"{claim.split(':')[0]} is being changed by another request; try again") from None
    if applied is None:
        _repeat(key, redelivered)
    result, pending = applied
    if not pending:
        return result
    try:
        _apply_all(ref)  # this run holds the lease it committed with
    except Exception:
        if redelivered:
            raise
        log.exception("effects of step %s deferred to the sweep", key)
    return result


def _done_or_refused(ref, precheck) -> bool:
    """True when this step's marker exists (a repeat); raises when the rule refuses it already."""
    if ref.get().exists:
        return True
    try:
        precheck()
    except AppError:
        if ref.get().exists:  # the same step committed just now: a repeat, not a refusal
            return True
        raise
    return False


def _repeat(key: str, redelivered: bool = True):
    ref = marker(key)
    try:
        ref.update({"repeats": increment(1)})  # observable: a repeat was seen and changed nothing
        flushed = flush(key)
    except Exception:
        if redelivered:
            raise
        # an HTTP repeat still gets its answer (a stored response, a 409); the sweep sends the effects
        log.exception("repeat of step %s could not check its effects", key)
        flushed = False
    raise AlreadyApplied(f"step {key} was already applied", flushed=flushed, marker=ref.get().to_dict())


def stored(key: str) -> dict | None:
    """The marker of step `key`, or None when it was never applied."""
    snap = marker(key).get()
    return snap.to_dict() if snap.exists else None


def flush(key: str) -> bool:
    """Apply the step's effects unless that already happened; False while another run holds the lease."""
    ref = marker(key)

    def claim(txn: Txn):
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


def sweep(limit: int = 200) -> dict[str, int]:
    """Apply the effects of steps whose run died or failed after commit (the maintenance tick).

    Reads only markers that are due (`sweep_at` has passed), oldest first, so markers that keep
    failing wait longer each time (up to an hour) and never crowd out the others.
    """
    started = time.monotonic()
    due = list(where(STEPS, ("sweep_at", "<=", clock.now())).order_by("sweep_at").limit(limit).stream())
    flushed = 0
    for snap in due:
        if time.monotonic() - started > SWEEP_BUDGET:
            break  # the next tick carries on
        try:
            if flush(snap.get("key")):
                flushed += 1
            else:  # a run holds its lease (or died holding it): look again once the lease is out
                snap.reference.update({"sweep_at": snap.get("lease_until")})
        except Exception:
            log.exception("sweep could not apply the effects of %s", snap.get("key"))
    return {"stale": len(due), "flushed": flushed}


def _apply_all(ref) -> None:
    """Apply the effects not yet applied, recording progress after each, so a retry resumes."""
    snap = ref.get()
    state = snap.to_dict()
    done, effects = state.get("effects_done", 0), state["effects"]
    try:
        with logs.bound(step=state["key"], trace=state.get("trace") or logs.fields().get("trace")):
            for index in range(done, len(effects)):
                apply(effects[index], origin=f"{state['key']}#{index}")
                if index + 1 < len(effects):
                    _stamp(ref, {"effects_done": index + 1})
    except Exception as exc:
        failures = state.get("failures", 0) + 1
        retry_in = min(settings().sweep_after * 2 ** failures, MAX_RETRY_IN)
        if failures >= MAX_FAILURES:
            log.error("step %s failed %d times, last with %r: its effects are still unsent", state["key"], failures,
                      exc)
        now = clock.now()
        _stamp(ref, {"lease_until": 0, "failures": failures, "last_error": repr(exc)[:500], "sweep_at": now + retry_in,
                    # unsent effects outlive the TTL: the marker is kept as long as it keeps failing
                    "expire_at": datetime.fromtimestamp(now + RETENTION_SECONDS, UTC)})
        raise
    _stamp(ref, {"flushed_at": clock.now(), "lease_until": 0, "effects_done": len(effects), "sweep_at": None})


def _stamp(ref, fields: dict, tries: int = 5) -> None:
    """Record progress on a marker; a repeat's transaction may hold its lock a moment, so wait and retry."""
    from google.api_core.exceptions import Aborted

    for attempt in range(tries):
        try:
            ref.update(fields)
            return
        except Aborted:
            if attempt == tries - 1:
                raise
            time.sleep(random.uniform(0, 0.05 * 2 ** attempt))


def apply(effect: dict, origin: str) -> None:
    kind = effect["kind"]
    if kind == "publish":
        signals.publish(effect["sender"], effect["payload"])
    elif kind == "schedule":
        tasks.schedule(effect["task"], effect["args"], effect["at"])
    elif kind == "notify":
        pusher.trigger(effect["channels"], effect["event"], effect["data"])
    else:  # a marker written by a newer version of the code
        raise ValueError(f"unknown effect kind {kind!r} in {origin}")
