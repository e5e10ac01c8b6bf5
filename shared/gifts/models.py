"""Gift products, the request to send a gift and its receipt."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

TICKET = "livestream-show-ticket"  # the category of tickets (the seeds' LIVESTREAM_SHOW_GIFT_TAG)
PRODUCT_ID = r"[A-Za-z0-9_-]{1,100}"


class GiftProduct(BaseModel):
    """A fixed catalog record (seeds: `GiftProduct`, e.g. id `livestream-show-ticket_1200`)."""

    id: str = Field(pattern=f"^{PRODUCT_ID}$")
    name: str
    price: Annotated[StrictInt, Field(gt=0)] = Field(description="diamonds")
    categories: list[str]

    @property
    def is_ticket(self) -> bool:
        return TICKET in self.categories


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
    goal_id: str | None = None
    transfer_id: str = Field(description="the ledger transfer (for a ticket: the hold in the pre-sale's escrow)")
    held: bool = Field(description="a ticket's diamonds sit in its pre-sale's escrow until the show or a refund")
