"""Applying spends to the boards and reading them.

A board is `leaderboards/{board_id}/supporters/{user_id}`, each supporter's `amount` changed by
`Increment` alone: concurrent spends of different supporters never touch one document, and none
reads a board, so a session with thousands of supporters does not serialise on anything.
"""
from __future__ import annotations

from shared.core.errors import Conflict
from shared.core.firestore import Txn, db, field_filter, increment
from shared.leaderboards import rules
from shared.leaderboards.models import BoardTop, Leaderboard, Period, Supporter
from shared.ledger import book
from shared.ledger.models import wallet
from shared.ledger.spending import DiamondsSpent

BOARDS = "leaderboards"
SUPPORTERS = "supporters"
PUSH_TOP = 10  # supporters per board in a live push: the event stays far below Pusher's 10 KB


class SpendUnknown(Conflict):
    code = "spend_unknown"


def supporter_ref(board_id: str, user_id: str):
    return db().collection(BOARDS).document(board_id).collection(SUPPORTERS).document(user_id)


def check_spend(txn: Txn, spend: DiamondsSpent) -> None:
    """Trust the ledger, not the message: the transfer exists and moved the supporter's diamonds
    the way the spend says (out of their wallet, or back into it for a refund)."""
    transfer = book.load(spend.spend_id, txn)
    mine = wallet(spend.supporter_id).id
    if (transfer.debit if spend.amount > 0 else transfer.credit) != mine:
        raise SpendUnknown(f"transfer {spend.spend_id} is not a spend of {spend.supporter_id}")


def apply(txn: Txn, spend: DiamondsSpent) -> list[str]:
    """Count the spend on each of its boards: blind `Increment` writes, no board read."""
    touched = rules.boards(spend)
    for board_id in touched:
        txn.set(supporter_ref(board_id, spend.supporter_id), {
            "board_id": board_id, "user_id": spend.supporter_id, "streamer_id": spend.streamer_id,
            "amount": increment(spend.amount), "updated_at": spend.at}, merge=True)
    return touched


def top(board_id: str, limit: int) -> list[Supporter]:
    """The board's supporters by amount, highest first (those refunded to nothing left out)."""
    query = (db().collection(BOARDS).document(board_id).collection(SUPPORTERS)
             .where(filter=field_filter("amount", ">", 0)).order_by("amount", direction="DESCENDING").limit(limit))
    return [Supporter(rank=rank, user_id=snap.id, amount=snap.get("amount"))
            for rank, snap in enumerate(query.stream(), start=1)]


def session_board(session_id: str, streamer_id: str, limit: int) -> Leaderboard:
    board_id = rules.session_board(session_id)
    return Leaderboard(board_id=board_id, period="session", streamer_id=streamer_id, session_id=session_id,
                       supporters=top(board_id, limit))


def streamer_board(streamer_id: str, period: Period, at, limit: int) -> Leaderboard:
    board_id = rules.streamer_board(streamer_id, period, at)
    return Leaderboard(board_id=board_id, period=period, streamer_id=streamer_id, key=rules.period_key(period, at),
                       supporters=top(board_id, limit))


def push_tops(streamer_id: str, session_id: str | None, at: float) -> list[BoardTop]:
    """What a live push shows: the first few of the session's board and of the streamer's day,
    week (those holding `at`) and all-time boards."""
    wanted = [("session", rules.session_board(session_id))] if session_id else []
    wanted += [(p, rules.streamer_board(streamer_id, p, at)) for p in ("day", "week", "all")]
    return [BoardTop(board_id=board_id, period=period, supporters=top(board_id, PUSH_TOP))
            for period, board_id in wanted]
