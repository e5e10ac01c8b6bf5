"""Goal documents, request bodies, signal payloads and task arguments (names from the seeds)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from shared.core.registry import TaskArgs

SHOW_FUNDING = "ShowFundingGoal"
ObjectId = Field(pattern=r"^[0-9a-f]{24}$")


class Level(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=100)
    target: PositiveInt = Field(le=1_000_000_000)


class ShowFundingContext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    perform_duration: PositiveInt = Field(le=86400, description="seconds the streamer must perform for the show to count")
    session_id: str = ObjectId
    hesitation_countdown: int = Field(ge=0, le=86400, description="seconds after the pre-sale ends before refunds run")
    ticket_product_id: str = Field(min_length=1, max_length=200)
    ticket_product_type: str = Field(min_length=1, max_length=100)
    discount_percentage: int = Field(default=0, ge=0, le=100)


class ShowFundingGoalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    levels: list[Level] = Field(min_length=1, max_length=20)
    exp: int = Field(description="Unix seconds when the pre-sale closes; must be in the future")
    context: ShowFundingContext


class GoalsQuery(BaseModel):
    type: Literal["show-funding"] = Field(description="goal type; show and exclusive arrive with their features")


class RefundDecision(BaseModel):
    """What `check_funding_goal_refundable` decided; `escrow_id` names the escrow the ledger releases."""

    decision: Literal["refund", "keep"]
    reason: str
    escrow_id: str
    decided_at: float


class GoalFields(BaseModel):
    """The fields every goal signal carries (the seeds' signal args)."""

    model_config = ConfigDict(populate_by_name=True)

    goal_id: str
    cls: str = Field(alias="_cls")
    conditions: dict
    context: dict


class Goal(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    cls: str = Field(alias="_cls")
    active: bool
    conditions: dict
    levels: list[Level]
    nbf: int | None = None
    exp: int | None = None
    context: dict
    metadata: dict
    progress: int = 0
    breakdown: dict[str, int] = Field(default_factory=dict)
    triggerer: str | None = None
    created_at: float
    ended_at: float | None = None
    refund: RefundDecision | None = None

    @property
    def owner(self) -> str:
        return self.metadata["user_id"]

    @property
    def target_met(self) -> bool:
        return bool(self.levels) and self.progress >= self.levels[0].target


class GoalCreated(GoalFields):
    active: bool
    levels: list[Level]
    nbf: int | None
    exp: int | None
    metadata: dict


class GoalAdded(GoalFields):
    session_id: str
    streamer_id: str


class GoalEnded(GoalFields):
    active: bool
    progress: int
    levels: list[Level]
    exp: int | None
    triggerer: str | None
    metadata: dict


class DeactivateGoalArgs(TaskArgs):
    goal_id: str = ObjectId
    reason: Literal["expired", "session_ended"] = "expired"
    round: int = Field(default=0, ge=0, description="bumped when a task that came early reschedules itself")

    def task_key(self) -> str:
        return f"{self.goal_id}-{self.round}"


class GoalIdArgs(TaskArgs):
    goal_id: str = ObjectId

    def task_key(self) -> str:
        return self.goal_id
