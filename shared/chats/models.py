"""Chats and their messages as stored, the requests, the pages and the events."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from shared.gifts.models import PRODUCT_ID

ID = r"^[0-9a-f]{24}$"
MAX_TEXT = 2000
PREVIEW = 200  # characters of the text a notice carries: events stay far below Pusher's 10 KB


class GiftInMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(pattern=f"^{PRODUCT_ID}$")
    quantity: Annotated[StrictInt, Field(ge=1, le=100)] = 1


class MessageRequest(BaseModel):
    """A text, a gift, or both."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)] | None = None
    gift: GiftInMessage | None = None

    @model_validator(mode="after")
    def _something(self) -> MessageRequest:
        if self.text is None and self.gift is None:
            raise ValueError("a message needs a text, a gift or both")
        if self.text is not None and not self.text.strip():
            raise ValueError("a text cannot be blank")
        return self


class ChatGift(BaseModel):
    """A gift sent in a message: diamonds to the recipient's earnings less the platform's share."""

    product_id: str
    name: str
    quantity: int
    price_each: int = Field(description="diamonds")
    amount: int = Field(description="diamonds in all")
    transfer_id: str


class MessageCharge(BaseModel):
    """What the sender paid for the message: the recipient creator's price in messaging diamonds."""

    amount: int
    currency: str = "messaging_diamond"
    transfer_id: str


class Message(BaseModel):
    id: str
    chat_id: str
    sender_id: str
    recipient_id: str
    text: str | None = None
    gift: ChatGift | None = None
    charge: MessageCharge | None = None
    at: float


class MessageNotice(BaseModel):
    """`chat.message` on the recipient's `private-user@` channel: the text cut to a preview."""

    id: str
    chat_id: str
    sender_id: str
    text: str | None = None
    truncated: bool = False
    gift: ChatGift | None = None
    at: float


class Chat(BaseModel):
    id: str
    participants: list[str] = Field(description="the two user ids, sorted")
    last_message: Message | None = None
    created_at: float
    updated_at: float


class ChatPage(BaseModel):
    chats: list[Chat]
    next_cursor: str | None = None


class MessagePage(BaseModel):
    messages: list[Message]
    next_cursor: str | None = None


class PageQuery(BaseModel):
    cursor: Annotated[str, Field(pattern=ID)] | None = None
    limit: int = Field(20, ge=1, le=50)


class ChatPageQuery(BaseModel):
    cursor: Annotated[str, Field(pattern=r"^[0-9a-f]{24}_[0-9a-f]{24}$", description="a chat id")] | None = None
    limit: int = Field(20, ge=1, le=50)


class ChatPriceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = Field(description="messaging diamonds; 0: free")


class ChatPrice(BaseModel):
    user_id: str
    amount: int = Field(description="messaging diamonds a non-creator pays per message; 0: free")
    currency: str = "messaging_diamond"
    updated_at: float | None = None


class ChatMessageSent(BaseModel):
    """`chat.message.sent`: a message was stored (tracked for analytics)."""

    message_id: str
    chat_id: str
    sender_id: str
    recipient_id: str
    text: bool = Field(description="the message has a text")
    price: int = Field(description="messaging diamonds paid for it")
    gift_product_id: str | None = None
    gift_quantity: int = 0
    gift_amount: int = Field(0, description="diamonds")
