"""Chats: storing a message with what it pays (the recipient creator's price in messaging
diamonds, a gift in diamonds) in one step, delivering it on the recipient's `private-user@`
channel, listing chats and messages, and the creators' prices. Only this feature writes `chats`
and `chat_prices`; money moves only through the ledger."""
from __future__ import annotations

from shared.accounts import service as accounts
from shared.chats import rules
from shared.chats.models import (
    PREVIEW,
    Chat,
    ChatGift,
    ChatMessageSent,
    ChatPage,
    ChatPrice,
    Message,
    MessageCharge,
    MessageNotice,
    MessagePage,
    MessageRequest,
)
from shared.core import clock, ids, pusher, steps
from shared.core.config import settings
from shared.core.errors import NotFound, field_error
from shared.core.firestore import Txn, as_model, db, document, field_filter
from shared.core.registry import REGISTRY
from shared.gifts import service as gifts
from shared.ledger import book
from shared.ledger.spending import spent

CHATS, MESSAGES, PRICES = "chats", "messages", "chat_prices"
MESSAGE_EVENT = "chat.message"

CHAT_MESSAGE_SENT = REGISTRY.signal("chat.message.sent", ChatMessageSent, key=lambda e: e.message_id)


def chat_ref(chat_id: str):
    return db().collection(CHATS).document(chat_id)


def message_ref(chat_id: str, message_id: str):
    return chat_ref(chat_id).collection(MESSAGES).document(message_id)


def price_ref(user_id: str):
    return db().collection(PRICES).document(user_id)


# --- prices -----------------------------------------------------------------------------------


def price_of(user_id: str, txn: Txn | None = None) -> ChatPrice:
    snap = price_ref(user_id).get(transaction=txn)
    if not snap.exists:
        return ChatPrice(user_id=user_id, amount=0)
    return ChatPrice.model_validate({**snap.to_dict(), "user_id": user_id})


def set_price(user_id: str, amount: int) -> ChatPrice:
    """A creator's price per message (0: free); messages already sent keep what they paid."""
    made = ChatPrice(user_id=user_id, amount=amount, updated_at=clock.now())
    price_ref(user_id).set(made.model_dump(mode="json", exclude={"user_id"}))
    return made


# --- sending ----------------------------------------------------------------------------------


def send(sender_id: str, recipient_id: str, request: MessageRequest, sender_is_creator: bool,
         client_key: steps.ClientKey | None = None) -> Message:
    """Store the message and pay for it in one step: the recipient's price unless the sender is a
    creator, and the gift if any. Too few diamonds of either kind: 409, nothing stored."""
    rules.require_other(sender_id, recipient_id)
    if accounts.find(recipient_id) is None:
        raise NotFound(f"user {recipient_id} not found", code="user_not_found")
    item = None
    if request.gift is not None:
        item = gifts.product(request.gift.product_id)  # 404 for an unknown product
        if (refusal := rules.gift_refusal(item)) is not None:
            raise field_error(["body", "gift", "product_id"], refusal)
    chat_id, message_id = rules.chat_id(sender_id, recipient_id), ids.new_id()
    share = settings().platform_share_percent

    def body(txn: Txn, fx: steps.Effects) -> Message:
        # every read before the ledger's writes and ours
        chat_snap = chat_ref(chat_id).get(transaction=txn)
        due = rules.message_due(price_of(recipient_id, txn).amount, sender_is_creator)
        quantity = request.gift.quantity if request.gift else 0
        gift_amount = item.price * quantity if item else 0
        meta: dict[str, str | int] = {"chat_id": chat_id, "message_id": message_id}
        if item:
            meta |= {"product_id": item.id, "quantity": quantity}
        moves = rules.payments(message_id, sender_id, recipient_id, due, gift_amount, share, meta)
        if moves:
            book.execute(txn, moves)  # InsufficientFunds: nothing written
        now = clock.now()
        message = Message(
            id=message_id, chat_id=chat_id, sender_id=sender_id, recipient_id=recipient_id, text=request.text, at=now,
            charge=MessageCharge(amount=due, transfer_id=rules.charge_id(message_id)) if due else None,
            gift=ChatGift(product_id=item.id, name=item.name, quantity=quantity, price_each=item.price,
                          amount=gift_amount, transfer_id=rules.gift_id(message_id)) if item else None)
        txn.create(message_ref(chat_id, message_id), document(message))
        last = message.model_dump(mode="json")
        if chat_snap.exists:
            txn.update(chat_ref(chat_id), {"last_message": last, "updated_at": now})
        else:
            txn.create(chat_ref(chat_id), {"participants": sorted((sender_id, recipient_id)), "last_message": last,
                                           "created_at": now, "updated_at": now})
        text, cut = rules.preview(request.text, PREVIEW)
        fx.notify([pusher.user_channel(recipient_id)], MESSAGE_EVENT, MessageNotice(
            id=message_id, chat_id=chat_id, sender_id=sender_id, text=text, truncated=cut, gift=message.gift, at=now))
        if message.gift:  # diamonds spent on the recipient: their leaderboards count it (no session)
            spent(fx, message.gift.transfer_id, sender_id, recipient_id, None, gift_amount, "gift", now)
        fx.publish(CHAT_MESSAGE_SENT, ChatMessageSent(
            message_id=message_id, chat_id=chat_id, sender_id=sender_id, recipient_id=recipient_id,
            text=request.text is not None, price=due, gift_product_id=item.id if item else None,
            gift_quantity=quantity, gift_amount=gift_amount))
        return message

    return steps.run(f"chat_message:{message_id}", body, redelivered=False, client_key=client_key)


# --- reading ----------------------------------------------------------------------------------


def chats_of(user_id: str, cursor: str | None, limit: int) -> ChatPage:
    """The user's chats, the one with the newest message first, `limit` at a time after `cursor` (a chat id)."""
    query = (db().collection(CHATS).where(filter=field_filter("participants", "array_contains", user_id))
             .order_by("updated_at", direction="DESCENDING"))
    if cursor:
        last = chat_ref(cursor).get()
        if not last.exists or user_id not in (last.get("participants") or []):
            raise field_error(["query", "cursor"], "not a cursor of this list")
        query = query.start_after(last)
    snaps = list(query.limit(limit + 1).stream())
    chats = [as_model(Chat, snap) for snap in snaps[:limit]]
    return ChatPage(chats=chats, next_cursor=chats[-1].id if len(snaps) > limit else None)


def messages_with(user_id: str, other_id: str, cursor: str | None, limit: int) -> MessagePage:
    """The messages between the two, newest first; a cursor (a message id) keeps its place however
    many messages arrive meanwhile (ties in time go by id)."""
    rules.require_other(user_id, other_id)
    chat_id = rules.chat_id(user_id, other_id)
    query = chat_ref(chat_id).collection(MESSAGES).order_by("at", direction="DESCENDING")
    if cursor:
        last = message_ref(chat_id, cursor).get()
        if not last.exists:
            raise field_error(["query", "cursor"], "not a cursor of this list")
        query = query.start_after(last)
    snaps = list(query.limit(limit + 1).stream())
    messages = [as_model(Message, snap) for snap in snaps[:limit]]
    return MessagePage(messages=messages, next_cursor=messages[-1].id if len(snaps) > limit else None)
