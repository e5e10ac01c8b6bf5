"""Backpack items (`backpack_items/{item_id}`) and the requests and views around them."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from shared.accounts.models import TagWindow

GLOBAL_PASS = "livestream_pass"  # seed 004: admits to every streamer's paid stream
PassSeconds = Annotated[StrictInt, Field(ge=60, le=366 * 24 * 3600)]


def pass_tag(streamer_id: str | None) -> str:
    """The user tag a pass activates: `livestream_pass`, or `livestream_pass_{streamer_id}`."""
    return f"{GLOBAL_PASS}_{streamer_id}" if streamer_id else GLOBAL_PASS


class BackpackItem(BaseModel):
    id: str
    user_id: str
    type: Literal["livestream_pass", "user_product"]
    tag: str | None = None  # a pass: what activating it sets in the owner's `tagsv2`
    streamer_id: str | None = None  # a pass: None for every streamer
    seconds: int | None = None  # a pass: how long it runs once activated
    product_id: str | None = None  # a user product: what was bought
    creator_id: str | None = None  # a user product: who sells it
    status: Literal["available", "activated", "revoked"] = "available"
    source: str  # "admin:{user_id}" or "order:{order_id}"
    granted_at: float
    activated_at: float | None = None
    window: TagWindow | None = None  # the tag's window after this activation


class Backpack(BaseModel):
    items: list[BackpackItem]


class PassGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    streamer_id: Annotated[str, Field(pattern=r"^[0-9a-f]{24}$")] | None = None
    seconds: PassSeconds
