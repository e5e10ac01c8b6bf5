"""Claims: a short lease on one resource (a goal, a session, a streamer) taken with an atomic
`create` before a step's transaction, so that concurrent requests on that resource queue up
cheaply instead of locking each other out inside Firestore transactions.

Firestore's server libraries lock pessimistically: twenty transactions that read and write one
document abort each other until the locks time out. A claim lets one through at a time; the
others poll the claim document (and, through `ready`, whatever tells them the outcome), and a
holder that died is taken over once its lease has run out.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime

from shared.core import clock
from shared.core.firestore import db

CLAIMS = "claims"
LEASE_SECONDS = 30  # far above one step's transaction; a dead holder blocks at most this long
FIRST_POLL, LAST_POLL = 0.02, 0.25  # seconds between polls, growing: waiters stay cheap


class ClaimTimeout(Exception):
    """The claim stayed with another run for longer than the caller would wait."""


def _lease() -> dict:
    until = clock.now() + LEASE_SECONDS
    # expire_at: Firestore's TTL policy (infra/terraform) removes claims a crashed holder left
    return {"until": until, "expire_at": datetime.fromtimestamp(until + 86400, UTC)}


def _ref(name: str):
    return db().collection(CLAIMS).document(name.replace("/", "_"))


def _try(ref):
    """The write time of our claim, or None while someone else holds an unexpired one."""
    from google.api_core.exceptions import AlreadyExists, FailedPrecondition, NotFound

    try:
        return ref.create(_lease()).update_time
    except AlreadyExists:
        pass
    snap = ref.get()
    if not snap.exists:
        return None  # released in between: the next round creates it
    if (snap.get("until") or 0) > clock.now():
        return None
    try:  # the holder died: take over, unless someone else took over first
        option = db().write_option(last_update_time=snap.update_time)
        return ref.update(_lease(), option=option).update_time
    except (FailedPrecondition, NotFound):
        return None


@contextmanager
def held(name: str, *, wait: float, ready: Callable[[], bool] = lambda: False):
    """Hold the claim `name` for the block. Yields True once held, or False early when `ready()`
    says the work is already done (a repeat), or raises ClaimTimeout after `wait` seconds."""
    ref = _ref(name)
    deadline, pause = time.monotonic() + wait, FIRST_POLL
    while True:
        if ready():
            yield False
            return
        written = _try(ref)
        if written is not None:
            break
        if time.monotonic() > deadline:
            raise ClaimTimeout(f"{name} is claimed by another run")
        time.sleep(random.uniform(pause / 2, pause * 1.5))
        pause = min(pause * 1.5, LAST_POLL)
    try:
        yield True
    finally:
        _release(ref, written)


def _release(ref, written) -> None:
    from google.api_core.exceptions import FailedPrecondition, NotFound

    try:  # only our own claim: after a takeover the document has a newer write time
        ref.delete(option=db().write_option(last_update_time=written))
    except (FailedPrecondition, NotFound):
        pass
