"""The one clock the domain reads; tests replace it with `set_clock`."""
from __future__ import annotations

import time
from collections.abc import Callable

_now: Callable[[], float] = time.time


def now() -> float:
    """Unix seconds (float)."""
    return _now()


def set_clock(fn: Callable[[], float] | None) -> None:
    global _now
    _now = fn or time.time
