"""Goal documents, request bodies, signal payloads and task arguments (names from the seeds).

A goal document is one of the goal classes, told apart by `_cls` (a pydantic discriminated
union): show-funding pre-sales now; show, trigger-exclusive, exclusive and karaoke goals join
`Goal` with their own `conditions`, `context` and `metadata`. The rules that change a goal are
methods without I/O (rules.py holds the ones about timing): they return the new state and the
events to publish, and the service loads, applies and saves.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter, model_serializer

from shared.core.errors import Conflict
from shared.core.registry import TaskArgs
from shared.goals import karaoke_rules

SHOW_FUNDING: Final = "ShowFundingGoal"
SHOW: Final = "ShowGoal"
TRIGGER_EXCLUSIVE: Final = "TriggerExclusiveGoal"
EXCLUSIVE: Final = "ExclusiveGoal"
KARAOKE: Final = "KaraokeGoal"
REFUND_GRACE = 5  # seconds after the hesitation countdown before the refund check runs (seed 000)
PERFORM_TOLERANCE = 2  # seconds a show may end before its duration and still count as performed
ObjectId = Annotated[str, Field(pattern=r"^[0-9a-f]{24}$")]
Count = Annotated[StrictInt, Field(gt=0, le=1_000_000_000)]  # strict: `true` and "10" are not counts


class GoalAlreadyEnded(Conflict):
    code = "goal_ended"


class GoalActive(Conflict):
    code = "goal_active"


class RefundDecided(Conflict):
    code = "refund_decided"


class ShowNotAllowed(Conflict):
    code = "show_not_allowed"


class EscrowSettled(Conflict):
    code = "escrow_settled"


class ExclusiveNotAllowed(Conflict):
    code = "exclusive_not_allowed"


class Level(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=100)
    target: Count


class ShowFundingTerms(BaseModel):
    """A pre-sale's terms as the streamer sets them (seed 000's `context`)."""

    perform_duration: Annotated[StrictInt, Field(gt=0, le=86400)] = Field(
        description="seconds the streamer must perform for the show to count")
    session_id: ObjectId
    hesitation_countdown: Annotated[StrictInt, Field(ge=0, le=86400)] = Field(
        description="seconds after the pre-sale ends before refunds run")
    ticket_product_id: str = Field(min_length=1, max_length=200)
    ticket_product_type: str = Field(min_length=1, max_length=100)
    discount_percentage: Annotated[StrictInt, Field(ge=0, le=100)] = 0


# --- documents ------------------------------------------------------------------------------


class WithoutUnset(BaseModel):
    """Fields only some goal classes use are left out of documents and events where unset."""

    @model_serializer(mode="wrap")
    def _without_unset(self, handler):
        return {k: v for k, v in handler(self).items() if v is not None}


class SessionConditions(WithoutUnset):
    session_id: str
    exclusive_to: str | None = None  # a 1-on-1's viewer


class OwnerMetadata(WithoutUnset):
    user_id: str  # the streamer who owns the goal
    prepaid_duration: int | None = None  # an invitation: the seconds its viewer paid for
    agreed: float | None = None  # an invitation: when the streamer agreed


class ShowFundingGoalContext(ShowFundingTerms):
    type: Literal["show-funding"] = "show-funding"
    show_goal_id: str | None = None  # seed: `context__show_goal_id__exists` means a show was bound


class ShowContext(BaseModel):
    type: Literal["show"] = "show"
    session_id: str
    funding_goal_id: str
    perform_duration: int


class TriggerExclusiveContext(BaseModel):
    type: Literal["trigger-exclusive"] = "trigger-exclusive"
    exclusive_to: str  # the viewer who invites
    exclusive_goal_id: str | None = None  # the 1-on-1 that followed the agreement


class ExclusiveContext(BaseModel):
    type: Literal["exclusive"] = "exclusive"
    session_id: str
    exclusive_to: str
    trigger_exclusive_goal_id: str


class KaraokeContext(BaseModel):
    type: Literal["karaoke"] = "karaoke"
    session_id: str
    product_id: str  # the `karaoke-` gift that asked for it
    duration: int  # seconds it runs once started
    sender_id: str  # the viewer who sent the gift


GoalContext = Annotated[
    ShowFundingGoalContext | ShowContext | TriggerExclusiveContext | ExclusiveContext | KaraokeContext,
    Field(discriminator="type")]


class Settlement(BaseModel):
    """Where a pre-sale's escrow went, decided once: back to the buyers, or to the streamer."""

    outcome: Literal["refund", "payout"]
    reason: str
    at: float


class RefundDecision(BaseModel):
    """What `check_funding_goal_refundable` decided; `escrow_id` names the escrow the ledger releases."""

    decision: Literal["refund", "keep"]
    reason: str
    escrow_id: str
    decided_at: float


class GoalState(BaseModel):
    """Where a goal stands: what anyone may see of it."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    active: bool
    levels: list[Level]
    nbf: int | None = None
    exp: int | None = None
    progress: int = 0


class GoalBase(GoalState):
    """What every goal class has, and the rules every goal follows."""

    breakdown: dict[str, int] = Field(default_factory=dict)
    triggerer: str | None = None
    created_at: float
    ended_at: float | None = None

    if TYPE_CHECKING:
        # Every goal class declares these fields itself (`context` as its own context class), after
        # the ones above as its documents' JSON has them: typed here for the rules below, not fields.
        cls: str
        conditions: SessionConditions
        context: GoalContext
        metadata: OwnerMetadata

    @property
    def target_met(self) -> bool:
        return bool(self.levels) and self.progress >= self.levels[0].target

    @property
    def owner(self) -> str:
        return self.metadata.user_id

    @property
    def session_id(self) -> str:
        return self.conditions.session_id

    @property
    def viewer(self) -> str | None:
        """A 1-on-1's (or its invitation's) viewer."""
        return self.conditions.exclusive_to

    def end(self, now: float, triggerer: str | None):
        """Seed `deactivate_goal`: active -> false, exp -> min(exp, now). Returns (goal, GoalEnded)."""
        if not self.active:
            raise GoalAlreadyEnded(f"goal {self.id} has already ended")
        ended = self.model_copy(update={
            "active": False, "exp": min(self.exp, int(now)) if self.exp is not None else int(now),
            "triggerer": triggerer, "ended_at": now,
        })
        return ended, ended.ended_event()

    def created_event(self) -> GoalCreated:
        return GoalCreated(goal_id=self.id, cls=self.cls, active=self.active, conditions=self.conditions,
                           context=self.context, levels=self.levels, nbf=self.nbf, exp=self.exp, metadata=self.metadata)

    def ended_event(self) -> GoalEnded:
        return GoalEnded(goal_id=self.id, cls=self.cls, active=self.active, progress=self.progress,
                         levels=self.levels, conditions=self.conditions, context=self.context, exp=self.exp,
                         triggerer=self.triggerer, metadata=self.metadata)

    def notice(self, streamer_id: str) -> GoalNotice:
        return GoalNotice(goal_id=self.id, cls=self.cls, type=self.context.type, session_id=self.session_id,
                          streamer_id=streamer_id, active=self.active, progress=self.progress,
                          target=self.levels[0].target if self.levels else 0, exp=self.exp, triggerer=self.triggerer)

    def public(self) -> GoalPublic:
        return GoalPublic.model_validate(self.model_dump(by_alias=True))


class EscrowedGoal(GoalBase):
    """A goal whose buyers' diamonds sit in its escrow `{ESCROW}:{id}` until it is settled once:
    back to them (refund) or to the streamer (payout)."""

    ESCROW: ClassVar[str]
    refund_due_at: float | None = None  # set when it ends: when the refund check runs
    settlement: Settlement | None = None

    @property
    def escrow_id(self) -> str:
        return f"{self.ESCROW}:{self.id}"

    def settle(self, outcome: str, reason: str, now: float):
        """Send the escrow to the buyers (refund) or the streamer (payout), once. Returns (goal, Settlement)."""
        if self.settlement:
            raise EscrowSettled(f"the escrow of {self.id} was settled already ({self.settlement.outcome})")
        settlement = Settlement(outcome=outcome, reason=reason, at=now)
        return self.model_copy(update={"settlement": settlement}), settlement


class ShowFundingGoal(EscrowedGoal):
    """A ticket pre-sale (seed 000): its tickets are held in escrow `show_funding:{id}` until
    the show happens, or refunded when it does not."""

    ESCROW: ClassVar[str] = "show_funding"
    cls: Literal["ShowFundingGoal"] = Field(SHOW_FUNDING, alias="_cls")
    conditions: SessionConditions
    context: ShowFundingGoalContext
    metadata: OwnerMetadata
    refund: RefundDecision | None = None

    @property
    def refund_runs_at(self) -> float | None:
        """When an unmet pre-sale's refund runs: once it ended, else as things stand (seed 000)."""
        if self.refund_due_at is not None or self.exp is None:
            return self.refund_due_at
        return self.exp + self.context.hesitation_countdown + REFUND_GRACE

    def end(self, now: float, triggerer: str | None):
        ended, _ = super().end(now, triggerer)
        ended.refund_due_at = ended.exp + ended.context.hesitation_countdown + REFUND_GRACE
        return ended, ended.ended_event()

    def decide_refund(self, show_goal: str | None, now: float):
        """Seed `check_funding_goal_refundable`: keep the escrow when the target was met or a show
        goal was bound to the pre-sale, refund it otherwise. Returns (goal, decision)."""
        if self.refund:
            raise RefundDecided(f"refund of goal {self.id} already decided")
        if self.active:
            raise GoalActive(f"goal {self.id} is still active")
        show_goal = self.context.show_goal_id or show_goal
        if self.target_met:  # 募票成功: the pre-sale reached its target, the escrow pays for the show
            decision, reason = "keep", "the pre-sale reached its target"
        elif show_goal:
            decision, reason = "keep", f"show goal {show_goal} is bound"
        else:
            decision, reason = "refund", "no show goal was bound to the pre-sale"
        refund = RefundDecision(decision=decision, reason=reason, escrow_id=self.escrow_id, decided_at=now)
        return self.model_copy(update={"refund": refund}), refund

    def bind_show(self, show_id: str, now: float):
        """Seed `bind_show_goal_to_funding_goal`: a show may start while the pre-sale runs (it ends
        it), once its target was met, or within the hesitation countdown after it ended unmet;
        never once its escrow is being refunded. Counts with every ticket counted (`progress`)."""
        if self.context.show_goal_id:
            raise ShowNotAllowed(f"show {self.context.show_goal_id} is already bound to the pre-sale")
        if self.settlement or (self.refund and self.refund.decision == "refund"):
            raise ShowNotAllowed("the pre-sale's refund was decided")
        if not (self.active or self.target_met or now < (self.exp or 0) + self.context.hesitation_countdown):
            raise ShowNotAllowed("the hesitation countdown after the unmet pre-sale is over")
        return self.model_copy(update={"context": self.context.model_copy(update={"show_goal_id": show_id})})



class ShowGoal(GoalBase):
    """The show a pre-sale paid for (seeds: ShowGoal, 表演階段): it counts once the streamer
    performed the pre-sale's perform_duration; ended earlier, every ticket is refunded."""

    cls: Literal["ShowGoal"] = Field(SHOW, alias="_cls")
    conditions: SessionConditions
    context: ShowContext
    metadata: OwnerMetadata

    @property
    def performed(self) -> bool:
        if self.ended_at is None or self.nbf is None:
            return False
        return self.ended_at >= self.nbf + self.context.perform_duration - PERFORM_TOLERANCE


class TriggerExclusiveGoal(EscrowedGoal):
    """A viewer's invitation to a 1-on-1 (seed 001): its prepaid minutes are held in escrow
    `trigger_exclusive:{id}` until the streamer answers. Declined, unanswered by `exp` or
    superseded, it is refunded at once; agreed, it is paid out when the 1-on-1 (ExclusiveGoal)
    starts, and refunded when none started within the grace after the agreement."""

    ESCROW: ClassVar[str] = "trigger_exclusive"
    cls: Literal["TriggerExclusiveGoal"] = Field(TRIGGER_EXCLUSIVE, alias="_cls")
    conditions: SessionConditions
    context: TriggerExclusiveContext
    metadata: OwnerMetadata
    prepaid: int = Field(description="diamonds held: the session's sd price for prepaid_duration")

    @property
    def viewer(self) -> str:
        """The viewer who invites (named in its context as in its conditions)."""
        return self.context.exclusive_to

    @property
    def agreed(self) -> float | None:
        return self.metadata.agreed

    @property
    def prepaid_duration(self) -> int:
        """The seconds its viewer paid for (`metadata.prepaid_duration`)."""
        prepaid_duration = self.metadata.prepaid_duration
        assert prepaid_duration is not None, "every invitation is created with its prepaid_duration"
        return prepaid_duration

    def end(self, now: float, triggerer: str | None):
        """Ended without an agreement, its prepaid is due back at once (`refund_due_at`: the
        maintenance tick's backstop should the refund's own delivery be lost)."""
        ended, _ = super().end(now, triggerer)
        ended.refund_due_at = now
        return ended, ended.ended_event()

    def answer(self, agree: bool, now: float, triggerer: str | None, grace: int):
        """Seed 001: the streamer agrees (`metadata.agreed` = now, progress 1, the refund check at
        `exp + grace`) or declines, before `exp`. Returns (goal, GoalEnded)."""
        if self.active and self.exp is not None and now > self.exp:
            raise GoalAlreadyEnded(f"the invitation {self.id} expired", code="invitation_expired")
        ended, _ = self.end(now, triggerer)
        if agree:
            ended.metadata = ended.metadata.model_copy(update={"agreed": now})
            ended.progress = 1
            ended.refund_due_at = ended.exp + grace
        return ended, ended.ended_event()

    def bind_exclusive(self, exclusive_id: str, now: float):
        """Seed 003 `create_exclusive_goal`: the invitation was agreed, has ended, has no 1-on-1 yet,
        and its prepaid was not refunded (the grace after the agreement is not over)."""
        if self.active or not self.agreed:
            raise ExclusiveNotAllowed(f"invitation {self.id} was not agreed to")
        if self.context.exclusive_goal_id:
            raise ExclusiveNotAllowed(f"invitation {self.id} already led to 1-on-1 {self.context.exclusive_goal_id}")
        if self.settlement or (self.refund_due_at is not None and now >= self.refund_due_at):
            raise ExclusiveNotAllowed(f"the time to start the 1-on-1 of invitation {self.id} is over")
        context = self.context.model_copy(update={"exclusive_goal_id": exclusive_id})
        return self.model_copy(update={"context": context})

    def unused_refund_due(self, now: float) -> bool:
        """Seed `check_trigger_exclusive_goal_refundable`: once due, refund when no 1-on-1 followed."""
        if self.active:
            raise GoalActive(f"goal {self.id} is still active")
        if self.refund_due_at is not None and now < self.refund_due_at:
            raise GoalActive(f"the refund check of {self.id} is due at {self.refund_due_at}", code="not_due")
        return not self.context.exclusive_goal_id


class ExclusiveGoal(GoalBase):
    """The 1-on-1 (seed 003): the stream is the viewer's alone from `nbf` until the streamer ends
    it, the session ends, or the viewer's paid window (`session.viewers`) runs out."""

    cls: Literal["ExclusiveGoal"] = Field(EXCLUSIVE, alias="_cls")
    conditions: SessionConditions
    context: ExclusiveContext
    metadata: OwnerMetadata

    @property
    def viewer(self) -> str:
        """The viewer the 1-on-1 is for (named in its context as in its conditions)."""
        return self.context.exclusive_to


class KaraokeNotRunning(Conflict):
    code = "karaoke_not_running"


class KaraokeGoal(EscrowedGoal):
    """A `karaoke-` gift's command (seed 004): its price is held in escrow `karaoke:{id}`. Queued
    behind the session's running one (active, not started), it runs `duration` seconds from
    `started_at` (nbf..exp). Paid out when it ran its duration or the streamer marked it done;
    refunded when skipped or the session ended first (karaoke_rules.performed)."""

    ESCROW: ClassVar[str] = "karaoke"
    cls: Literal["KaraokeGoal"] = Field(KARAOKE, alias="_cls")
    conditions: SessionConditions
    context: KaraokeContext
    metadata: OwnerMetadata
    amount: int = Field(description="diamonds held")
    started_at: float | None = None
    done_at: float | None = None
    skipped: bool = False

    @property
    def running(self) -> bool:
        return self.active and self.started_at is not None

    def end(self, now: float, triggerer: str | None):
        """Ended, its escrow is due to be settled at once (`refund_due_at`: the tick's backstop
        settles it, should the goal.ended delivery be lost)."""
        ended, _ = super().end(now, triggerer)
        ended.refund_due_at = now
        return ended, ended.ended_event()

    @property
    def performed(self) -> bool:
        return karaoke_rules.performed(self.started_at, self.ended_at, self.context.duration, self.done_at,
                                       self.skipped)

    def start(self, now: float):
        """Its turn came: it runs from now for its duration."""
        if not self.active:
            raise GoalAlreadyEnded(f"goal {self.id} has already ended")
        if self.started_at is not None:
            raise Conflict(f"goal {self.id} runs already", code="karaoke_running")
        nbf, exp = karaoke_rules.window(now, self.context.duration)
        return self.model_copy(update={"started_at": now, "nbf": nbf, "exp": exp})

    def finish(self, action: Literal["done", "skip"], now: float, triggerer: str | None):
        """The streamer ends it: done (only the one running; pays) or skip (queued or running;
        refunds). Returns (goal, GoalEnded)."""
        if not self.active:
            raise GoalAlreadyEnded(f"goal {self.id} has already ended")
        if action == "done" and self.started_at is None:
            raise KaraokeNotRunning(f"goal {self.id} waits for its turn: skip it, or mark it done once it runs")
        ended, _ = self.end(now, triggerer)
        ended = ended.model_copy(update={"done_at": now} if action == "done" else {"skipped": True})
        return ended, ended.ended_event()

    def notice(self, streamer_id: str) -> KaraokeNotice:
        return KaraokeNotice(**super().notice(streamer_id).model_dump(by_alias=True),
                             product_id=self.context.product_id, duration=self.context.duration,
                             sender_id=self.context.sender_id, started_at=self.started_at)


Goal = Annotated[ShowFundingGoal | ShowGoal | TriggerExclusiveGoal | ExclusiveGoal | KaraokeGoal,
                 Field(discriminator="cls")]
GOAL = TypeAdapter(Goal)


class GoalKind(BaseModel):
    """A goal's class, the session it runs in and its terms: what its events and views share."""

    model_config = ConfigDict(populate_by_name=True)

    cls: str = Field(alias="_cls")
    conditions: SessionConditions
    context: GoalContext


class GoalPublic(GoalState, GoalKind):
    """A goal as anyone but its owner sees it: no triggering client, buyers or escrow."""


# --- signal payloads and Pusher events -------------------------------------------------------


class GoalFields(GoalKind):
    """The fields every goal signal carries (the seeds' signal args)."""

    goal_id: str


class GoalCreated(GoalFields):
    active: bool
    levels: list[Level]
    nbf: int | None
    exp: int | None
    metadata: OwnerMetadata


class GoalAdded(GoalFields):
    session_id: str
    streamer_id: str


class GoalEnded(GoalFields):
    active: bool
    progress: int
    levels: list[Level]
    exp: int | None
    triggerer: str | None
    metadata: OwnerMetadata


class GoalNotice(BaseModel):
    """`goal.added` / `goal.ended` on the streamer's channels: small by design (Pusher takes at
    most 10 KB), the ids and the few fields a client shows; it fetches the rest."""

    model_config = ConfigDict(populate_by_name=True)

    goal_id: str
    cls: str = Field(alias="_cls")
    type: str
    session_id: str
    streamer_id: str
    active: bool
    progress: int
    target: int
    exp: int | None
    triggerer: str | None


class KaraokeNotice(GoalNotice):
    """A karaoke goal on the streamer's channels: what to show, and since when it runs (None: queued)."""

    product_id: str
    duration: int
    sender_id: str
    started_at: float | None


# --- task arguments ---------------------------------------------------------------------------


class DeactivateGoalArgs(TaskArgs):
    goal_id: ObjectId
    reason: Literal["expired", "session_ended"] = "expired"
    round: int = Field(default=0, ge=0, description="bumped when a task that came early reschedules itself")

    def task_key(self) -> str:
        return f"{self.goal_id}-{self.round}"


class GoalIdArgs(TaskArgs):
    goal_id: ObjectId
    round: int = Field(default=0, ge=0, description="bumped when a task that came early reschedules itself")

    def task_key(self) -> str:
        return self.goal_id if self.round == 0 else f"{self.goal_id}-{self.round}"
