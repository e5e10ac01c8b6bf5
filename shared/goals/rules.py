"""Timing rules of the goal tasks, without I/O.

Cloud Tasks may deliver a task early: its schedule is capped at 29 days ahead, a retry after an
error can come at any time, and anyone holding a signed body could replay it. A task that is
due runs; one that came a little early waits in place; one that came too early reschedules
itself for when it is due.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EARLY_TOLERANCE = 2.0  # seconds a task may arrive early and still act on time by waiting


@dataclass(frozen=True)
class Arrival:
    action: Literal["run", "wait", "reschedule"]
    seconds: float = 0.0  # how long to wait
    at: float | None = None  # when to come back


def arrival(due: float | None, now: float) -> Arrival:
    """What a task due at `due` (None: due now) does when it arrives at `now`."""
    early = 0.0 if due is None else due - now
    if early > EARLY_TOLERANCE:
        return Arrival("reschedule", at=due)
    if early > 0:
        return Arrival("wait", seconds=early)
    return Arrival("run")
