"""Backpack items (`backpack_items/{item_id}`: passes, user products, post vouchers), the rule
choosing a voucher, and the requests and views around them."""
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
    type: Literal["livestream_pass", "user_product", "post_voucher"]
    tag: str | None = None  # a pass: what activating it sets in the owner's `tagsv2`
    streamer_id: str | None = None  # a pass: None for every streamer
    seconds: int | None = None  # a pass: how long it runs once activated
    product_id: str | None = None  # a user product: what was bought
    # a user product: who sells it; a post voucher: whose posts it unlocks (None: any creator's)
    creator_id: str | None = None
    status: Literal["available", "activated", "used", "revoked"] = "available"
    source: str  # "admin:{user_id}" or "order:{order_id}"
    granted_at: float
    activated_at: float | None = None
    window: TagWindow | None = None  # the tag's window after this activation
    used_for: str | None = None  # a post voucher: the post it unlocked
    used_at: float | None = None


def pick_voucher(candidates: list[BackpackItem], creator_id: str) -> BackpackItem | None:
    """The voucher an unlock of `creator_id`'s post uses: an available one bound to that creator
    first, then a global one, the oldest of either; None when none fits."""
    fitting = [item for item in candidates if item.type == "post_voucher" and item.status == "available"
               and item.creator_id in (creator_id, None)]
    return min(fitting, key=lambda i: (i.creator_id is None, i.granted_at, i.id), default=None)


class Backpack(BaseModel):
    items: list[BackpackItem]


class VoucherGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    creator_id: Annotated[str, Field(pattern=r"^[0-9a-f]{24}$")] | None = Field(
        None, description="only this creator's posts (none: any creator's)")


class PassGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    streamer_id: Annotated[str, Field(pattern=r"^[0-9a-f]{24}$")] | None = None
    seconds: PassSeconds
