"""Housekeeping driven by a clock: Cloud Scheduler publishes `maintenance.tick` every minute
(locally the stack's ticker does), and receivers of the tick make good what a crash left."""
from __future__ import annotations

import logging

from pydantic import BaseModel

from shared.core import steps
from shared.core.config import settings
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY

log = logging.getLogger(__name__)


class Tick(BaseModel):
    """Cloud Scheduler sends a fixed body: a tick carries no data of its own. Its event id is
    its publish time in tick periods, so a receiver declared as a step runs once per tick."""


TICK = REGISTRY.signal("maintenance.tick", Tick, key=lambda tick: "tick", period=lambda: settings().tick_seconds)
# the sweep may apply any step's effects: publish, schedule (signed) and notify (Pusher)
SWEEPER = FunctionOptions(memory="512Mi", cpu="0.333", timeout=300, max_instances=1,
                          secrets=("TASK_SECRET", "PUSHER_SECRET"))


# full_registry: a swept step may be any function's, its effects name signals and tasks this module never imports
@REGISTRY.receiver(TICK, step=False, options=SWEEPER, full_registry=True)
def flush_pending_steps(tick: Tick) -> str:
    """Apply the effects of steps committed a while ago whose effects never went out
    (an HTTP request whose publish failed, a process that died): flushing is lease-guarded."""
    outcome = steps.sweep()
    if outcome["stale"]:
        log.warning("swept pending steps: %s", outcome)
    return f"{outcome}"
