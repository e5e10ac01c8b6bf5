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

    def pair_for(self, funding_goal: str) -> ShowGoalPair | None:
        return next((p for p in self.show_goal_pairs if p.funding_goal == funding_goal), None)


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=140)


class SessionEnded(BaseModel):
    session: Session
    ending_goals: list[str] = Field(description="active goals being ended through deactivate_goal")
