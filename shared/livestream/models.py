"""Session documents, request bodies and the session signals' payloads."""
from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from shared.core.errors import field_error

DEFAULT_PRICES = {"sd": 30}  # diamonds per minute of each preset; a session may set its own
PRESET = r"^[a-z][a-z0-9_-]{0,19}$"
PerMinute = Annotated[StrictInt, Field(gt=0, le=1_000_000)]
Seconds = Annotated[StrictInt, Field(gt=0, le=24 * 3600)]


class ShowGoalPair(BaseModel):
    """A pre-sale (funding goal) and, once the streamer performs, its show goal."""

    funding_goal: str
    show_goal: str | None = None
    funding_ended: float | None = None


class ExclusiveGoalPair(BaseModel):
    """A viewer's 1-on-1 in the session: the invitation (trigger goal), the streamer's answer, and
    once agreed the exclusive goal. Kept under `exclusive_goal_pairs[viewer]`."""

    trigger_exclusive_goal: str
    trigger_exclusive_goal_ended: float | None = None
    trigger_exclusive_goal_agreed: float | None = None
    exclusive_goal: str | None = None
    window_granted: int | None = None  # seconds the agreement added to the viewer's window


class ViewerWindow(BaseModel):
    """When a viewer may watch the paid stream (`session.viewers[viewer]`, seed 004)."""

    nbf: float
    duration: int = Field(description="seconds paid for in total")
    exp: float

    @staticmethod
    def extend(window: ViewerWindow | None, at: float, seconds: int) -> ViewerWindow:
        """Seconds added from `at`, or from the end of a window still running: `nbf` kept,
        `duration` added, `exp` moved (a lapsed window starts again at `at`)."""
        if window is None:
            return ViewerWindow(nbf=at, duration=seconds, exp=at + seconds)
        return ViewerWindow(nbf=window.nbf, duration=window.duration + seconds, exp=max(window.exp, at) + seconds)

    def shorten(self, seconds: int) -> ViewerWindow | None:
        """Seconds granted and then taken back (an agreement refunded unused); None: nothing left."""
        if self.duration <= seconds:
            return None
        return ViewerWindow(nbf=self.nbf, duration=self.duration - seconds, exp=self.exp - seconds)


class ExclusiveStatus(BaseModel):
    exclusive_to: list[str] = Field(default_factory=list, description="the viewer of the 1-on-1 agreed or running")


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
    prices: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_PRICES),
                                   description="diamonds per minute of each preset (`sd`: the paid stream)")
    viewers: dict[str, ViewerWindow] = Field(default_factory=dict, description="who paid to watch, and until when")
    exclusive_goal_pairs: dict[str, ExclusiveGoalPair] = Field(default_factory=dict)
    status: ExclusiveStatus = Field(default_factory=ExclusiveStatus)

    def get_price(self, preset: str, duration: int) -> int:
        """Diamonds for `duration` seconds of `preset`: the per-minute price pro rata, rounded up to
        a whole diamond (the viewer pays less than one diamond over the exact amount)."""
        per_minute = self.prices.get(preset)
        if per_minute is None:
            raise field_error(["body", "preset"], f"the session has no {preset!r} price", "unknown_preset")
        return math.ceil(per_minute * duration / 60)

    def pair_for(self, funding_goal: str) -> ShowGoalPair | None:
        return next((p for p in self.show_goal_pairs if p.funding_goal == funding_goal), None)


class SessionView(Session):
    head_count: int = Field(description="viewers in the streamer's room now (members of presence-stream@{streamer}, "
                                        "the streamer not counted) while the session is live; 0 once it ended")


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=140)
    prices: dict[Annotated[str, Field(pattern=PRESET)], PerMinute] = Field(
        default_factory=dict, max_length=10,
        description=f"diamonds per minute by preset; presets left out keep their defaults {DEFAULT_PRICES}")


class SessionEnding(BaseModel):
    session: Session
    ending_goals: list[str] = Field(
        description="active goals being ended (the goals feature ends them on session.ended)")


class SessionStarted(BaseModel):
    """`session.started`: a streamer went live (the feeds list the session)."""

    session_id: str
    streamer_id: str
    started_at: float


class SessionEnded(BaseModel):
    """`session.ended`: features with something open in the session close it."""

    session_id: str
    streamer_id: str
    ended_at: float


class PayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duration: Seconds = Field(description="seconds of the paid stream to buy")
    preset: Annotated[str, Field(pattern=PRESET)] = "sd"


class StreamAuthorized(BaseModel):
    """`stream.authorized` on the viewer's `presence-stream-viewer@{streamer}.preview.{viewer}`:
    they may watch the paid stream until `exp` (or, with `exclusive_to` set, the 1-on-1 is theirs)."""

    session_id: str
    streamer_id: str
    viewer_id: str
    nbf: float | None
    exp: float | None
    duration: int
    exclusive: bool = False


class Payment(BaseModel):
    session_id: str
    streamer_id: str
    preset: str
    duration: int
    amount: int
    transfer_id: str
    window: ViewerWindow
