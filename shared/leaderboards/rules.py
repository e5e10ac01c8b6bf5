"""Plain rules of the leaderboards: which boards a spend counts on, and the push windows."""
from __future__ import annotations

import datetime
import math

from shared.leaderboards.models import Period
from shared.ledger.spending import DiamondsSpent

PUSH_SECONDS = 0.5  # at most one `leaderboard.updated` per streamer and session per window
# a spend, once committed, schedules the push of the window after the current one
PUSH_SLACK_WINDOWS = 1


def _utc(at: float) -> datetime.date:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).date()


def period_key(period: Period, at: float | datetime.date) -> str | None:
    """The day `YYYY-MM-DD` or ISO week `YYYY-Www` (UTC) holding `at`; None for all time."""
    day = at if isinstance(at, datetime.date) else _utc(at)
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return None


def session_board(session_id: str) -> str:
    return f"session:{session_id}"


def streamer_board(streamer_id: str, period: Period, at: float | datetime.date) -> str:
    key = period_key(period, at)
    return f"streamer:{streamer_id}:{period}" + (f":{key}" if key else "")


def boards(spend: DiamondsSpent) -> list[str]:
    """Every board a spend counts on: its session's (if any) and its streamer's day, week and all."""
    found = [session_board(spend.session_id)] if spend.session_id else []
    return found + [streamer_board(spend.streamer_id, p, spend.at) for p in ("day", "week", "all")]


def push_window(now: float) -> int:
    """The window whose push shows a spend committed by `now`: it ends at most one window ahead."""
    return math.floor(now / PUSH_SECONDS) + PUSH_SLACK_WINDOWS


def window_end(window: int) -> float:
    return window * PUSH_SECONDS
