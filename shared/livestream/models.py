"""Session documents, request bodies and the session signals' payloads."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ShowGoalPair(BaseModel):
    """A pre-sale (funding goal) and, once the streamer performs, its show goal."""

    funding_goal: str
    show_goal: str | None = None
    funding_ended: float | None = None


class Statuses(BaseModel):
    created: float
    ended: float | None = None


class Session(BaseModel):
    id: str
    user_id: str
    title: str | None = None
    active: bool
    statuses: Statuses
    show_goal_pairs: list[ShowGoalPair] = Field(default_factory=list)
    open_goals: list[str] = Field(default_factory=list, description="goals opened in the session and still active")

    def pair_for(self, funding_goal: str) -> ShowGoalPair | None:
        return next((p for p in self.show_goal_pairs if p.funding_goal == funding_goal), None)


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=140)


class SessionEnding(BaseModel):
    session: Session
    ending_goals: list[str] = Field(description="active goals being ended (the goals feature ends them on session.ended)")


class SessionEnded(BaseModel):
    """`session.ended`: features with something open in the session close it."""

    session_id: str
    streamer_id: str
    ended_at: float
