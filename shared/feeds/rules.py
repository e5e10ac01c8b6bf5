"""The feed rules as plain code: the score, the order and ranks of a generation, cursors, when a
feed is rebuilt and which generations are deleted.

s_score = engagement * freshness, where
    engagement = 1 + 3 ln(1 + tickets) + 2 ln(1 + gifts) + 2 ln(1 + unlocks) + ln(1 + viewers)
    freshness  = 2 ** (-age / half_life)     (half_life: 2 h for a live session, 24 h for a post)
Logarithms keep one huge pre-sale from burying everything else; a paid signal (a ticket, a gift,
an unlock) weighs more than a head in the room. `age` is from the session's start or the post's
nbf. Ties keep a fixed order: by id.
"""
from __future__ import annotations

import math
import re

from shared.core.errors import AppError, field_error
from shared.feeds.models import LIVESTREAM, FeedItem, FeedMetadata

WEIGHTS = {"tickets": 3.0, "gifts": 2.0, "unlocks": 2.0, "viewers": 1.0}
HALF_LIFE = {LIVESTREAM: 2 * 3600.0, "posts": 24 * 3600.0}
RANK_DIGITS = 6  # at most a million items a generation; MAX_ITEMS keeps far fewer
REFRESH_SECONDS = 120  # a feed nobody marked dirty is still rebuilt this often (progress, head-counts, age)
KEEP_SECONDS = 600  # a generation swapped out stays readable this long (a reader's cursor), the previous one always
ALL, FOLLOWED, REST = "a", "f", "r"  # cursor phases: the whole feed; followed streamers first, then the rest
CURSOR = re.compile(rf"(?P<gen>[0-9a-f]{{24}})\.(?P<phase>[afr])(?P<rank>[0-9]{{{RANK_DIGITS}}})")


class CursorExpired(AppError):
    """The cursor's generation was deleted: start again from the first page."""

    status, code = 400, "cursor_expired"


def s_score(*, age: float, half_life: float, tickets: int = 0, gifts: int = 0, unlocks: int = 0,
            viewers: int = 0) -> float:
    engagement = 1 + sum(WEIGHTS[name] * math.log1p(max(0, count)) for name, count in
                         (("tickets", tickets), ("gifts", gifts), ("unlocks", unlocks), ("viewers", viewers)))
    return round(engagement * 2 ** (-max(0.0, age) / half_life), 9)


def metadata(kind: str, *, age: float, **counts: int) -> FeedMetadata:
    return FeedMetadata(s_score=s_score(age=age, half_life=HALF_LIFE[kind], **counts), age_seconds=round(age, 3),
                        **counts)


def rank_key(position: int) -> str:
    return f"{position:0{RANK_DIGITS}d}"


def ranked(items: list[FeedItem]) -> list[FeedItem]:
    """A generation's items, highest s_score first (ties by id), each given its rank."""
    ordered = sorted(items, key=lambda item: (-item.metadata.s_score, item.id))
    return [item.model_copy(update={"rank": rank_key(n)}) for n, item in enumerate(ordered)]


def cursor(gen: str, phase: str, rank: str) -> str:
    return f"{gen}.{phase}{rank}"


def parse_cursor(value: str, followed: bool) -> tuple[str, str, str]:
    """(generation, phase, rank) of a cursor; 400 when it is not one, or was made for the other
    ordering (a followed-first cursor read without `followed`, or the reverse)."""
    found = CURSOR.fullmatch(value)
    if found is None:
        raise field_error(["query", "cursor"], "not a cursor of this feed")
    if (found["phase"] != ALL) != followed:
        raise field_error(["query", "cursor"], "this cursor pages the feed with another `followed`")
    return found["gen"], found["phase"], found["rank"]


def due(pointer: dict, now: float) -> bool:
    """Whether the tick rebuilds a feed: it has no generation yet, a receiver marked it dirty
    since the current one was read, or the current one is older than REFRESH_SECONDS."""
    if not pointer.get("current"):
        return True
    dirty_at, read_at = pointer.get("dirty_at"), pointer.get("read_at") or 0
    return (dirty_at is not None and dirty_at >= read_at) or now - (pointer.get("built_at") or 0) >= REFRESH_SECONDS


def expired(pointer: dict, now: float) -> list[str]:
    """Generations to delete: neither the current nor the previous one, and swapped out (or,
    never swapped in, started) KEEP_SECONDS ago."""
    keep = {pointer.get("current"), pointer.get("previous")}
    return sorted(gen for gen, times in (pointer.get("generations") or {}).items()
                  if gen not in keep
                  and (times.get("retired_at") or times.get("started_at") or 0) + KEEP_SECONDS <= now)
