"""Queue rules of karaoke goals (seed 004: `karaoke-` gifts are commands with a duration), without I/O.

Per session, karaoke goals run one at a time in the order they were sent: the first starts at
once, each next one when the one running ends. The queue is one small document per session
(karaoke.py keeps it), changed only under the session's karaoke claim; these functions say what
its next state is. A goal that ended while it waited is passed over when its turn comes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

DONE_TOLERANCE = 2  # seconds a karaoke goal may end before its duration and still count as performed


@dataclass(frozen=True)
class KaraokeQueue:
    running: str | None = None
    waiting: tuple[str, ...] = field(default_factory=tuple)

    def holds(self, goal_id: str) -> bool:
        return goal_id == self.running or goal_id in self.waiting

    def as_document(self) -> dict:
        return {"running": self.running, "waiting": list(self.waiting)}

    @classmethod
    def from_document(cls, data: dict | None) -> KaraokeQueue:
        data = data or {}
        return cls(running=data.get("running"), waiting=tuple(data.get("waiting") or ()))


def enqueue(queue: KaraokeQueue, goal_id: str) -> tuple[KaraokeQueue, bool]:
    """A goal just sent: it runs at once when nothing runs, else waits behind the others.
    Returns (queue, starts_now)."""
    if queue.holds(goal_id):
        raise ValueError(f"goal {goal_id} is queued already")
    if queue.running is None and not queue.waiting:
        return KaraokeQueue(running=goal_id), True
    return KaraokeQueue(running=queue.running, waiting=(*queue.waiting, goal_id)), False


def advance(queue: KaraokeQueue, ended_id: str, is_active: Callable[[str], bool],
            session_live: bool = True) -> tuple[KaraokeQueue, str | None]:
    """A goal ended: it leaves the queue. When it was the one running, the first waiting goal still
    active starts (ended ones are passed over); in a session that is over nothing starts.
    Returns (queue, the goal to start or None). A goal no longer queued changes nothing (a repeat)."""
    if ended_id in queue.waiting:
        return KaraokeQueue(running=queue.running, waiting=tuple(g for g in queue.waiting if g != ended_id)), None
    if queue.running != ended_id:
        return queue, None
    waiting = list(queue.waiting)
    while waiting and not is_active(waiting[0]):
        waiting.pop(0)
    if not waiting or not session_live:
        return KaraokeQueue(running=None, waiting=tuple(waiting)), None
    return KaraokeQueue(running=waiting[0], waiting=tuple(waiting[1:])), waiting[0]


def window(now: float, duration: int) -> tuple[int, int]:
    """When a goal starting now runs: (nbf, exp), whole seconds."""
    return int(now), int(now) + duration


def performed(started_at: float | None, ended_at: float | None, duration: int, done_at: float | None,
              skipped: bool) -> bool:
    """Pays out: the streamer marked it done while it ran, or it ran its duration. Skipped, never
    started, or cut short by the session's end: refunded."""
    if skipped or started_at is None:
        return False
    if done_at is not None:
        return True
    return ended_at is not None and ended_at >= started_at + duration - DONE_TOLERANCE
