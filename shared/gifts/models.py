"""Gift products, the request to send a gift and its receipt."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

TICKET = "livestream-show-ticket"  # the category of tickets (the seeds' LIVESTREAM_SHOW_GIFT_TAG)
KARAOKE = "karaoke-"  # seed 004: gifts with this prefix are commands with a duration (a KaraokeGoal)
PRODUCT_ID = r"[A-Za-z0-9_-]{1,100}"


class GiftProduct(BaseModel):
    """A fixed catalog record (seeds: `GiftProduct`, e.g. id `livestream-show-ticket_1200`)."""

    id: str = Field(pattern=f"^{PRODUCT_ID}$")
    name: str
    price: Annotated[StrictInt, Field(gt=0)] = Field(description="diamonds")
    categories: list[str]
    duration: Annotated[StrictInt, Field(gt=0, le=3600)] | None = Field(
        None, description="seconds a karaoke- command runs once its turn comes")

    @property
    def is_ticket(self) -> bool:
        return TICKET in self.categories

    @model_validator(mode="after")
    def _karaoke_has_a_duration(self):
        if self.id.startswith(KARAOKE) and self.duration is None:  # else it would pay out at once as a gift
            raise ValueError(f"{self.id}: a karaoke- command needs its duration")
        return self

    @property
    def is_karaoke(self) -> bool:
        return self.id.startswith(KARAOKE)


class GiftProducts(BaseModel):
    products: list[GiftProduct]


class GiftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(pattern=f"^{PRODUCT_ID}$")
    quantity: Annotated[StrictInt, Field(ge=1, le=100)] = 1
    goal_id: str | None = Field(None, pattern=r"^[0-9a-f]{24}$", description="the pre-sale a ticket is for")


class GiftReceipt(BaseModel):
    id: str
    session_id: str
    product_id: str
    quantity: int
    price_each: int = Field(description="diamonds per item, after a pre-sale's discount")
    amount: int
    goal_id: str | None = Field(None, description="a ticket's pre-sale, or the KaraokeGoal a karaoke- gift created")
    transfer_id: str = Field(description="the ledger transfer (for a ticket or a karaoke- gift: the hold in escrow)")
    held: bool = Field(description="a ticket's diamonds sit in its pre-sale's escrow until the show or a refund; "
                                   "a karaoke- gift's in its goal's until it is performed or refunded")
