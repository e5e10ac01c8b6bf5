"""The chats' rules as plain code: one chat per pair of users, who pays what for a message, which
gifts a chat carries, and the ledger moves of a message (built here, applied by the service)."""
from __future__ import annotations

from shared.core.errors import field_error
from shared.gifts.models import GiftProduct
from shared.ledger import book
from shared.ledger.models import DIAMOND, Currency, earnings, revenue, wallet

MESSAGING: Currency = "messaging_diamond"
GIFT_TAG = "livestream"  # the seeds' LIVESTREAM_GIFT_TAG: a general gift (tickets carry the show tags)
KARAOKE = "karaoke-"  # commands to a streamer's toys: they need a live session


def chat_id(a: str, b: str) -> str:
    """The same id from either side: the two user ids, sorted."""
    first, second = sorted((a, b))
    return f"{first}_{second}"


def require_other(sender_id: str, recipient_id: str) -> None:
    if sender_id == recipient_id:
        raise field_error(["path", "user_id"], "you cannot message yourself")


def gift_refusal(product: GiftProduct) -> str | None:
    """Why `product` may not be sent in a chat, or None: only general gifts, never a ticket (bound
    to a pre-sale) nor a karaoke command (bound to a live session)."""
    if product.is_ticket:
        return "a show ticket is bought in a session, not sent in a chat"
    if product.id.startswith(KARAOKE):
        return "karaoke gifts are sent in a live session"
    if GIFT_TAG not in product.categories:
        return "only general gifts are sent in a chat"
    return None


def message_due(price: int, sender_is_creator: bool) -> int:
    """Messaging diamonds the sender pays: the recipient's price, unless the sender is a creator
    (a creator answering a fan, or writing to another creator, pays nothing)."""
    return 0 if sender_is_creator else max(price, 0)


def split(amount: int, share_percent: int) -> tuple[int, int]:
    """(the recipient's part, the platform's share), the share rounded down."""
    fee = amount * share_percent // 100
    return amount - fee, fee


def charge_id(message_id: str) -> str:
    return f"chat:{message_id}"


def gift_id(message_id: str) -> str:
    return f"chat_gift:{message_id}"


def payments(message_id: str, sender_id: str, recipient_id: str, due: int, gift_amount: int,
             share_percent: int, metadata: dict) -> list[book.Move]:
    """The message's price in messaging diamonds and its gift in diamonds, each from the sender's
    wallet to the recipient's earnings with the platform's share to its revenue."""
    moves: list[book.Move] = []
    for transfer_id, amount, currency in ((charge_id(message_id), due, MESSAGING),
                                          (gift_id(message_id), gift_amount, DIAMOND)):
        if amount <= 0:
            continue
        part, fee = split(amount, share_percent)
        payer = wallet(sender_id, currency)
        if part:
            moves.append(book.Move(transfer_id, payer, earnings(recipient_id, currency), part, metadata=metadata))
        if fee:
            moves.append(book.Move(f"{transfer_id}:fee", payer, revenue(currency), fee, metadata=metadata))
    return moves


def preview(text: str | None, length: int) -> tuple[str | None, bool]:
    """The text a notice carries, and whether it was cut."""
    if text is None or len(text) <= length:
        return text, False
    return text[:length], True
