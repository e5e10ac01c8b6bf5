"""`diamonds.spent`: published by each step where diamonds leave a viewer's wallet for a streamer
(gifts, tickets, paid minutes, 1-on-1 invitations, post unlocks) and, negative, where held
diamonds go back to the viewer (the ledger's escrow refunds). Its key is the ledger transfer id."""
from __future__ import annotations

from shared.core.registry import REGISTRY
from shared.leaderboards.models import DiamondsSpent, SpendKind

DIAMONDS_SPENT = REGISTRY.signal("diamonds.spent", DiamondsSpent, key=lambda e: e.spend_id)


def spent(fx, spend_id: str, supporter_id: str, streamer_id: str, session_id: str | None, amount: int,
          kind: SpendKind, at: float) -> None:
    """Record the publish on a step's effects (nothing for a spend of 0)."""
    if amount:
        fx.publish(DIAMONDS_SPENT, DiamondsSpent(spend_id=spend_id, supporter_id=supporter_id, streamer_id=streamer_id,
                                                 session_id=session_id, amount=amount, kind=kind, at=at))


def unlocked(fx, unlock, creator_id: str, currency: str) -> None:
    """A post unlock paid in diamonds (other currencies and vouchers are not diamonds spent)."""
    if currency == "diamond" and unlock.transfer_id:
        spent(fx, unlock.transfer_id, unlock.viewer_id, creator_id, None, unlock.amount, "unlock", unlock.at)
