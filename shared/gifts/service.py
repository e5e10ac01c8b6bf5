"""The gift catalog, and sending a gift: an ordinary gift pays the streamer's earnings less the
platform's share; a ticket is held in its pre-sale's escrow and counted in the pre-sale."""
from __future__ import annotations

import functools
import json
import pathlib

from shared.core import clock, ids, steps
from shared.core.config import settings
from shared.core.errors import Conflict, NotFound, field_error
from shared.core.firestore import Txn, db
from shared.gifts.models import GiftProduct, GiftReceipt, GiftRequest
from shared.goals import karaoke, sales
from shared.goals.models import ShowFundingGoal
from shared.ledger import book
from shared.ledger.models import REVENUE, earnings, escrow, wallet
from shared.ledger.spending import spent
from shared.livestream import sessions

PRODUCTS = "gift_products"
CATALOG = pathlib.Path(__file__).with_name("catalog.json")
EARLYBIRD = "earlybird"  # a pre-sale of this ticket type sells at its discount


def catalog() -> list[GiftProduct]:
    """The products the stack seeds (shared/localstack/provision.py)."""
    return [GiftProduct.model_validate(p) for p in json.loads(CATALOG.read_text())]


@functools.lru_cache(maxsize=1)
def _products(minute: int) -> dict[str, GiftProduct]:
    return {snap.id: GiftProduct.model_validate({**snap.to_dict(), "id": snap.id})
            for snap in db().collection(PRODUCTS).stream()}


def products() -> dict[str, GiftProduct]:
    """The catalog as stored, read at most once a minute per instance."""
    return _products(int(clock.now() // 60))


def product(product_id: str) -> GiftProduct:
    found = products().get(product_id)
    if found is None:
        raise NotFound(f"product {product_id} not found", code="product_not_found")
    return found


def ticket_price(item: GiftProduct, goal: ShowFundingGoal) -> int:
    """A pre-sale's discount applies to its early-bird tickets; rounded down, never below 1."""
    if goal.context.ticket_product_type != EARLYBIRD:
        return item.price
    return max(1, item.price * (100 - goal.context.discount_percentage) // 100)


def send(sender_id: str, session_id: str, request: GiftRequest,
         client_key: steps.ClientKey | None = None) -> GiftReceipt:
    item = product(request.product_id)
    if item.is_ticket and request.goal_id is None:
        raise field_error(["body", "goal_id"], "a ticket is bought for a pre-sale: give its goal_id")
    if not item.is_ticket and request.goal_id is not None:
        raise field_error(["body", "goal_id"], "only tickets are bought for a pre-sale")
    if item.is_karaoke and request.quantity != 1:
        raise field_error(["body", "quantity"], "a karaoke gift is one command: send them one at a time")
    if sessions.load(session_id).user_id == sender_id:
        raise Conflict("streamers do not send gifts in their own session", code="own_session")
    gift_id = ids.new_id()

    def body(txn: Txn, fx: steps.Effects) -> GiftReceipt:
        session = sessions.load(session_id, txn)  # reads first: a transaction writes after
        sessions.require_active(session)
        if item.is_ticket:
            assert request.goal_id is not None, "checked above: a ticket names its pre-sale"
            goal = sales.open_sale(txn, request.goal_id, session_id, item.id, clock.now())
            price = ticket_price(item, goal)
            amount = price * request.quantity
            (hold,) = book.execute(txn, [book.Move(
                f"ticket:{goal.id}:{gift_id}", wallet(sender_id), escrow(goal.escrow_id), amount, hold=True,
                metadata={"goal_id": goal.id, "session_id": session_id, "product_id": item.id,
                          "quantity": request.quantity, "streamer_id": goal.owner,
                          "refund_after": goal.refund_runs_at})])
            sales.count_tickets(txn, goal, sender_id, request.quantity, amount)
            transfer_id, held = hold.id, True
            spent(fx, hold.id, sender_id, goal.owner, session_id, amount, "ticket", hold.created_at)
        elif item.is_karaoke:  # held in its goal's escrow until performed, or refunded
            price = amount = item.price
            assert item.duration is not None, "GiftProduct refuses a karaoke- product without a duration"
            _, hold = karaoke.send(txn, fx, session, sender_id, gift_id, item.id, item.duration, amount)
            transfer_id, held = hold.id, True
        else:
            price = item.price
            amount = price * request.quantity
            fee = amount * settings().platform_share_percent // 100
            meta = {"session_id": session_id, "product_id": item.id, "quantity": request.quantity}
            moves = [book.Move(f"gift:{gift_id}", wallet(sender_id), earnings(session.user_id), amount - fee,
                               metadata=meta)]
            if fee:
                moves.append(book.Move(f"gift:{gift_id}:fee", wallet(sender_id), REVENUE, fee, metadata=meta))
            transfer_id, held = book.execute(txn, moves)[0].id, False
            spent(fx, transfer_id, sender_id, session.user_id, session_id, amount, "gift", clock.now())
        return GiftReceipt(id=gift_id, session_id=session_id, product_id=item.id, quantity=request.quantity,
                           price_each=price, amount=amount, goal_id=gift_id if item.is_karaoke else request.goal_id,
                           transfer_id=transfer_id, held=held)

    # karaoke gifts of a session queue up one at a time: their steps take the queue's claim
    queue = karaoke.claim(session_id) if item.is_karaoke else None
    return steps.run(f"gift:{gift_id}", body, redelivered=False, claim=queue, client_key=client_key)
