"""Resolving an escrow hold by hold (seeds: `escrow_refund` -> `update_bi_escrow` -> `transfer_escrow`).

`escrow_refund` pages through the escrow's pending holds and gives each its own
`update_bi_escrow` task, so an escrow of thousands of tickets neither times out nor repeats:
every hold resolves in its own step, exactly once, and is told to its owner.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.core import clock, steps
from shared.core.config import settings
from shared.core.firestore import Txn
from shared.core.options import QueueOptions
from shared.core.registry import REGISTRY, TaskArgs
from shared.ledger import book
from shared.ledger.models import REVENUE, Account, earnings
from shared.ledger.spending import spent

PAGE = 100  # holds a run of escrow_refund fans out
Event = Literal["escrow.failed", "escrow.succeeded"]  # the seeds' transfer_escrow events: refund, payout


class EscrowArgs(TaskArgs):
    escrow_id: str = Field(pattern=r"^[a-z_]+:[0-9a-f]{24}$")
    event: Event
    after: str | None = Field(None, max_length=300, description="the last hold of the previous page")

    def task_key(self) -> str:
        return f"{self.escrow_id}-{self.event}-{self.after or 'first'}"


class HoldArgs(TaskArgs):
    hold_id: str = Field(max_length=300)
    event: Event

    def task_key(self) -> str:
        return f"{self.hold_id}-{self.event}"


class EscrowRefunded(BaseModel):
    """`escrow.refunded` on `private-user@{buyer}`: their diamonds are back."""

    hold_id: str
    escrow_id: str
    amount: int
    goal_id: str | None = None


REGISTRY.queue("escrow", QueueOptions(max_dispatches_per_second=100, max_concurrent_dispatches=50))
ESCROW_REFUND = REGISTRY.task("escrow_refund", queue="escrow", args=EscrowArgs)
UPDATE_BI_ESCROW = REGISTRY.task("update_bi_escrow", queue="escrow", args=HoldArgs)


@ESCROW_REFUND.handles
def escrow_refund(args: EscrowArgs) -> str:
    holds = book.pending_holds(args.escrow_id, after=args.after, limit=PAGE)

    def body(txn: Txn, fx: steps.Effects) -> int:
        for hold in holds:
            fx.schedule(UPDATE_BI_ESCROW, HoldArgs(hold_id=hold.id, event=args.event), at=clock.now())
        if len(holds) == PAGE:
            fx.schedule(ESCROW_REFUND, args.model_copy(update={"after": holds[-1].id}), at=clock.now())
        return len(holds)

    count = steps.run(f"escrow_refund:{args.escrow_id}:{args.event}:{args.after or ''}", body)
    return f"{count} holds"


@UPDATE_BI_ESCROW.handles
def update_bi_escrow(args: HoldArgs) -> str:
    """One hold: voided back to its buyer (escrow.failed), or posted to the streamer's earnings less
    the platform's share (escrow.succeeded). A hold resolved the other way is a conflict, dropped."""

    def body(txn: Txn, fx: steps.Effects) -> str:
        if args.event == "escrow.failed":
            hold = book.load(args.hold_id, txn)  # read first: when it was spent, for its day's board
            (void,) = book.execute(txn, [book.Resolve(args.hold_id, "void")])
            buyer = Account.parse(void.credit).owner
            if void.metadata.get("streamer_id"):  # the refunded spend leaves the supporter's leaderboards
                session_id = void.metadata.get("session_id")
                spent(fx, void.id, buyer, str(void.metadata["streamer_id"]),
                      None if session_id is None else str(session_id), -void.amount, "refund", hold.created_at)
            fx.notify([f"private-user@{buyer}"], "escrow.refunded", EscrowRefunded(
                hold_id=args.hold_id, escrow_id=Account.parse(void.debit).owner, amount=void.amount,
                goal_id=void.metadata.get("goal_id")))
            return "refunded"
        hold = book.load(args.hold_id, txn)
        fee = hold.amount * settings().platform_share_percent // 100
        book.execute(txn, [book.Resolve(args.hold_id, "post", to=earnings(str(hold.metadata["streamer_id"])),
                                        fee=fee, fee_to=REVENUE)])
        return "paid out"

    return steps.run(f"update_bi_escrow:{args.hold_id}", body)
