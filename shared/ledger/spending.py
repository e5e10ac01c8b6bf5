"""`diamonds.spent`: published by each step where diamonds leave a viewer's wallet for a streamer
(gifts, tickets, paid minutes, 1-on-1 invitations, post unlocks) and, negative, where held
diamonds go back to the viewer (the ledger's escrow refunds). Its key is the ledger transfer id."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from shared.core.registry import REGISTRY
from shared.core.steps import Effects

ID = r"^[0-9a-f]{24}$"
SpendKind = Literal["gift", "ticket", "stream_minutes", "exclusive", "unlock", "refund"]


class DiamondsSpent(BaseModel):
    """Diamonds that left a viewer's wallet for a streamer (tickets, gifts, paid minutes, 1-on-1
    invitations, post unlocks), or came back to it (a refund: `amount` negative). `spend_id` is the
    ledger transfer that moved them, so each spend counts once however often it is delivered."""

    spend_id: str = Field(min_length=1, max_length=300)
    supporter_id: str = Field(pattern=ID)
    streamer_id: str = Field(pattern=ID)
    session_id: str | None = Field(None, pattern=ID)
    amount: StrictInt = Field(description="diamonds; negative for a refund")
    kind: SpendKind
    at: float = Field(description="when the diamonds were spent (a refund: when the refunded spend was)")


DIAMONDS_SPENT = REGISTRY.signal("diamonds.spent", DiamondsSpent, key=lambda e: e.spend_id)


def spent(fx: Effects, spend_id: str, supporter_id: str, streamer_id: str, session_id: str | None, amount: int,
          kind: SpendKind, at: float) -> None:
    """Record the publish on a step's effects (nothing for a spend of 0)."""
    if amount:
        fx.publish(DIAMONDS_SPENT, DiamondsSpent(spend_id=spend_id, supporter_id=supporter_id, streamer_id=streamer_id,
                                                 session_id=session_id, amount=amount, kind=kind, at=at))


def unlocked(fx: Effects, unlock, creator_id: str, currency: str) -> None:
    """A post unlock paid in diamonds (other currencies and vouchers are not diamonds spent)."""
    if currency == "diamond" and unlock.transfer_id:
        spent(fx, unlock.transfer_id, unlock.viewer_id, creator_id, None, unlock.amount, "unlock", unlock.at)
