"""Request bodies of the goals surface (seeds 000-003)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from shared.goals.models import Level, ObjectId, ShowFundingTerms


class ShowFundingContext(ShowFundingTerms):
    model_config = ConfigDict(extra="forbid")


class ShowFundingGoalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    levels: list[Level] = Field(min_length=1, max_length=20)
    exp: StrictInt = Field(description="Unix seconds when the pre-sale closes; must be in the future")
    context: ShowFundingContext


class ShowTerms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: ObjectId
    funding_goal_id: ObjectId = Field(description="the pre-sale whose tickets pay for the show")


class ShowGoalCreate(BaseModel):
    """The show (表演階段): the streamer performs for the pre-sale's perform_duration."""

    model_config = ConfigDict(extra="forbid")

    context: ShowTerms


class TriggerExclusiveTerms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: ObjectId
    prepaid_duration: Annotated[StrictInt, Field(ge=60, le=4 * 3600)] = Field(
        description="seconds of the 1-on-1 paid for now (at the session's `sd` price), held until the streamer answers")


class TriggerExclusiveGoalCreate(BaseModel):
    """A viewer invites the streamer to a 1-on-1 (seed 001's TriggerExclusiveGoal)."""

    model_config = ConfigDict(extra="forbid")

    context: TriggerExclusiveTerms


class ExclusiveTerms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: ObjectId
    trigger_exclusive_goal_id: ObjectId = Field(description="the invitation the streamer agreed to")


class ExclusiveGoalCreate(BaseModel):
    """The 1-on-1 itself (seed 003's ExclusiveGoal), started by the streamer after agreeing."""

    model_config = ConfigDict(extra="forbid")

    levels: list[Level] = Field(default_factory=list, max_length=20)
    context: ExclusiveTerms
    nbf: StrictInt | None = Field(None, description="Unix seconds when the 1-on-1 begins (after a countdown); "
                                                    "now when left out, at most the 60 s after the agreement")


class GoalEnd(BaseModel):
    """`DELETE /goals/{id}`'s body: the streamer's answer to a 1-on-1 invitation (seed 001)."""

    model_config = ConfigDict(extra="forbid")

    agree: StrictBool | None = Field(None, description="for an invitation: true agrees, false declines; "
                                                       "no other goal takes it")


class GoalsQuery(BaseModel):
    type: Literal["show-funding", "show", "trigger-exclusive", "exclusive"] = Field(description="goal type")


