"""Shop products (`shop_products/{id}`, a class each: `_cls`), orders (`shop_orders/{id}`) and the
requests and views around them (seed 004, "Shop")."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter

from shared.backpack.models import PassSeconds

ID = r"^[0-9a-f]{24}$"
MpId = Annotated[str, Field(pattern=r"^[A-Z0-9_]{2,32}$", description="the So-net payment method, e.g. GASH_GPAY")]
PriceTwd = Annotated[StrictInt, Field(gt=0, le=1_000_000, description="New Taiwan dollars")]


class _Product(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    name: str
    price: PriceTwd
    on_sale: bool = True


class DiamondPackProduct(_Product):
    cls: Literal["DiamondPackProduct"] = Field("DiamondPackProduct", alias="_cls")
    diamonds: Annotated[StrictInt, Field(gt=0)]


class PassProduct(_Product):
    cls: Literal["PassProduct"] = Field("PassProduct", alias="_cls")
    streamer_id: Annotated[str, Field(pattern=ID)] | None = None  # None: `livestream_pass`, every streamer
    seconds: PassSeconds


# What a creator earns per NT$ of a sale, in diamonds, before the platform's share: below what a
# diamond pack sells for (diamond_150: 500 for NT$150), so a sale never earns more than it cost.
EARNED_DIAMONDS_PER_TWD = 3


def creator_earnings(price: int, platform_share_percent: int) -> int:
    return price * EARNED_DIAMONDS_PER_TWD * (100 - platform_share_percent) // 100


class UserProduct(_Product):
    """Something a creator sells: the buyer gets it in their backpack, the creator the earnings,
    set from the price (`creator_earnings`), never by the creator."""

    cls: Literal["UserProduct"] = Field("UserProduct", alias="_cls")
    creator_id: Annotated[str, Field(pattern=ID)]
    creator_diamonds: Annotated[StrictInt, Field(ge=0)] = Field(description="the creator's earnings per sale")


# The first products had no class: their id told the kind (the seeds' legacy `grant_passes`).
LEGACY_CLASSES = (("diamond_", "DiamondPackProduct"), ("livestream_pass", "PassProduct"))


def _with_class(data):
    if isinstance(data, dict) and "_cls" not in data and "cls" not in data:
        found = next((cls for prefix, cls in LEGACY_CLASSES if str(data.get("id", "")).startswith(prefix)), None)
        if found:
            return {**data, "_cls": found}
    return data


ProductUnion = Annotated[DiamondPackProduct | PassProduct | UserProduct, Field(discriminator="cls")]
PRODUCT = TypeAdapter(ProductUnion)


def parse_product(data: dict) -> DiamondPackProduct | PassProduct | UserProduct:
    return PRODUCT.validate_python(_with_class(data))


Status = Literal["created", "pending", "paid", "fulfilled", "failed", "expired", "refunded"]
# Each transition once; an expired or failed order may still be paid: the gateway's confirmOrder
# says the payer's money came in (late, or after a failure result that was wrong)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "created": ("pending", "failed", "expired"),
    "pending": ("paid", "failed", "expired"),
    "expired": ("paid",),
    "failed": ("paid",),  # a failure result, then the gateway confirms the payment: the gateway decides
    "paid": ("fulfilled",),
    "fulfilled": ("refunded",),
}


class Gateway(BaseModel):
    name: Literal["sonet"] = "sonet"
    mp_id: str
    auth_code: str | None = None
    sonet_order_no: str | None = None
    result_message: str | None = None


class Order(BaseModel):
    id: str
    user_id: str
    product_id: str
    product_class: str
    product: dict  # the product as sold: what fulfilment and a refund go by
    amount: int  # TWD, fixed at checkout
    currency: Literal["TWD"] = "TWD"
    status: Status = "created"
    times: dict[str, float] = Field(default_factory=dict, description="when the order entered each status")
    gateway: Gateway
    flags: list[dict] = Field(default_factory=list, description="returns that did not match the order, kept for review")
    fulfilment: dict | None = None  # what fulfilment did: the transfer, the backpack item
    refund: dict | None = None


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Annotated[str, Field(min_length=1, max_length=100)]
    gateway: Literal["sonet"]
    mp_id: MpId


class Checkout(BaseModel):
    order: Order
    pay_url: str = Field(description="open it in a browser to pay: the gateway's redirect chain starts there")


class Orders(BaseModel):
    orders: list[Order]


class Products(BaseModel):
    products: list[ProductUnion]


class Refund(BaseModel):
    order: Order
    taken_back: int = Field(description="diamonds taken back from the buyer's wallet (or the creator's earnings)")
    already_spent: int = Field(description="diamonds the buyer (or creator) had already spent: not taken back")
    revoked_item: str | None = None
