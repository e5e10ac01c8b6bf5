"""The leaderboards' views and the live push's event and task."""
from __future__ import annotations

import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from shared.core.registry import TaskArgs

ID = r"^[0-9a-f]{24}$"
Period = Literal["day", "week", "all"]


class LeaderboardQuery(BaseModel):
    limit: int = Field(20, ge=1, le=100)


class StreamerLeaderboardQuery(LeaderboardQuery):
    period: Period = "all"
    date: datetime.date | None = Field(None, description="a day (UTC) of the day or week asked for; default today")


class Supporter(BaseModel):
    rank: int
    user_id: str
    amount: int


class Leaderboard(BaseModel):
    board_id: str
    period: Literal["session", "day", "week", "all"]
    streamer_id: str
    session_id: str | None = None
    key: str | None = Field(None, description="the day (YYYY-MM-DD) or ISO week (YYYY-Www) of the board, UTC")
    supporters: list[Supporter]


class BoardTop(BaseModel):
    board_id: str
    period: Literal["session", "day", "week", "all"]
    supporters: list[Supporter] = Field(description="the first few, highest first")


class LeaderboardUpdated(BaseModel):
    """`leaderboard.updated` on the stream channels: the top few of each board the spends of one
    time window touched; a client wanting more reads GET .../leaderboard."""

    streamer_id: str
    session_id: str | None = None
    window: int
    boards: list[BoardTop]


class PushArgs(TaskArgs):
    streamer_id: str = Field(pattern=ID)
    session_id: Annotated[str, Field(pattern=ID)] | None = None
    window: int = Field(ge=0, description="the push window (time // PUSH_SECONDS) it is due at the end of")

    def task_key(self) -> str:
        return f"{self.streamer_id}-{self.session_id or 'none'}-{self.window}"
