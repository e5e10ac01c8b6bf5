"""Posts (`posts/{id}`, their unlocks in `posts/{id}/unlocks/{viewer}`): the seeds' `Message`
fields as models, and the requests and views around them (seed 004, "Post")."""
from __future__ import annotations

import time
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from shared.assets.models import EncodedFile, Rendition
from shared.ledger.models import Currency

ID = r"^[0-9a-f]{24}$"
AssetId = Annotated[str, Field(pattern=ID)]


class Caption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=2000)]


class _Priced(BaseModel):
    """A cost in one of the ledger's currencies, paid from the viewer's wallet in that currency to
    the creator's earnings in it, less the platform's share."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    currency: ClassVar[Currency]
    unlock: ClassVar[str]  # the `_cls` of the unlock it makes

    cls: str = Field(alias="_cls")  # each cost's own name
    amount: Annotated[StrictInt, Field(gt=0, le=1_000_000)]


class Diamond(_Priced):
    currency, unlock = "diamond", "DiamondUnlock"
    cls: Literal["Diamond"] = Field("Diamond", alias="_cls")


class MessagingDiamonds(_Priced):
    currency, unlock = "messaging_diamond", "MessagingDiamondsUnlock"
    cls: Literal["MessagingDiamonds"] = Field("MessagingDiamonds", alias="_cls")


class Points(_Priced):
    currency, unlock = "point", "PointsUnlock"
    cls: Literal["Points"] = Field("Points", alias="_cls")


class RainbowDiamonds(_Priced):
    currency, unlock = "rainbow_diamond", "RainbowDiamondUnlock"
    cls: Literal["RainbowDiamonds"] = Field("RainbowDiamonds", alias="_cls")


class Voucher(BaseModel):
    """Unlocked with a post voucher from the viewer's backpack (one bound to the post's creator
    first, else a global one), consumed by the unlock."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    unlock: ClassVar[str] = "VoucherUnlock"

    cls: Literal["Voucher"] = Field("Voucher", alias="_cls")


Cost = Annotated[Diamond | MessagingDiamonds | Points | RainbowDiamonds | Voucher, Field(discriminator="cls")]
CostKind = Literal["Diamond", "MessagingDiamonds", "Points", "RainbowDiamonds", "Voucher"]
UnlockKind = Literal["DiamondUnlock", "MessagingDiamondsUnlock", "PointsUnlock", "RainbowDiamondUnlock",
                     "VoucherUnlock"]


def offered(costs: list, kind: str):
    """The post's cost of `kind` (one per kind), or None when the post is not unlocked that way."""
    return next((cost for cost in costs if cost.cls == kind), None)


def split(amount: int, share_percent: int) -> tuple[int, int]:
    """A price as (the creator's part, the platform's share), the share rounded down."""
    fee = amount * share_percent // 100
    return amount - fee, fee


class Pricing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["free", "paid"]


class StatusTransitions(BaseModel):
    """When the post entered each status (seed: `StatusTransitions`)."""

    created: float
    processing: float | None = None
    ready: float | None = None
    failed: float | None = None


class MediaItem(BaseModel):
    """The post's view of one of its assets, kept current by the asset receivers."""

    asset_id: str
    kind: str
    status: Literal["processing", "ready", "failed"] = "processing"
    metadata: dict = Field(default_factory=dict)
    generation: int | None = None  # the encoded source's
    reason: str | None = None
    key_id: str | None = None  # opens the encrypted outputs
    outputs: dict[str, EncodedFile] = Field(default_factory=dict, description="the encoder's, by label")
    renditions: list[Rendition] = Field(default_factory=list)


class PostCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assets: list[AssetId] = Field(min_length=1, max_length=20)
    caption: Caption
    pricing: Pricing
    cost: list[Cost] = Field(default_factory=list, max_length=len(get_args(CostKind)),
                             description="how a paid post is unlocked: any one of these, one per kind")
    nbf: float | None = Field(None, ge=0, le=4_102_444_800, allow_inf_nan=False,
                              description="publish later: not before this time (unix seconds)")

    @model_validator(mode="after")
    def _one_cost_per_kind(self):
        kinds = [c.cls for c in self.cost]
        if len(set(kinds)) != len(kinds):
            raise ValueError("one cost per kind")
        return self


class Post(BaseModel):
    id: str
    user_id: str
    assets: list[str]
    caption: Caption
    pricing: Pricing
    cost: list[Cost] = Field(default_factory=list)
    media: dict[str, MediaItem] = Field(default_factory=dict)
    status: Literal["processing", "ready", "failed"] = "processing"
    status_transitions: StatusTransitions
    nbf: float
    metadata: dict = Field(default_factory=dict)

    def published(self, now: float | None = None) -> bool:
        return self.status == "ready" and self.nbf <= (time.time() if now is None else now)


class UnlockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cost: CostKind = Field(description="which of the post's costs to pay")


class Unlock(BaseModel):
    """One viewer's unlock of one post, whichever cost paid it (`_cls` says which)."""

    post_id: str
    viewer_id: str
    cls: UnlockKind = Field("DiamondUnlock", alias="_cls")
    amount: int = Field(description="what was paid, in the cost's currency; 0 with a voucher")
    transfer_id: str | None = Field(None, description="the ledger transfer to the creator; None with a voucher")
    voucher_id: str | None = Field(None, description="the backpack voucher used")
    at: float

    model_config = ConfigDict(populate_by_name=True)


class ImageView(BaseModel):
    name: str
    url: str = Field(description="a signed GET URL of the AES-128-CBC (PKCS#7) encrypted image, valid 10 minutes")
    iv: str = Field(description="hex")


class MediaView(BaseModel):
    """One asset of a post. Previews (thumbnail, blurred preview, trailer) are for everyone; the
    media itself is encrypted, and its key (GET /posts/{id}/keys/{key_id}) is only for its creator
    and the viewers who unlocked it."""

    asset_id: str
    kind: str
    metadata: dict
    previews: dict[str, str] = Field(description="label -> signed GET URL, valid 10 minutes")
    key_id: str | None = Field(None, description="unlocked only")
    images: list[ImageView] | None = Field(None, description="unlocked images only: largest first")
    playlist: str | None = Field(None, description="unlocked videos only: the API path of the HLS master playlist")


class PostView(BaseModel):
    """What a viewer sees: a locked post shows its caption, price, thumbnail and previews, never the
    media or its keys."""

    id: str
    user_id: str
    caption: Caption
    pricing: Pricing
    cost: list[Cost]
    status: str
    nbf: float
    published: bool
    locked: bool
    thumbnail_url: str | None = None
    media: list[MediaView] = Field(default_factory=list, description="the ready assets, locked or not")


class PostPage(BaseModel):
    posts: list[PostView]
    next_cursor: str | None = None


class PageQuery(BaseModel):
    cursor: Annotated[str, Field(pattern=ID)] | None = None
    limit: int = Field(20, ge=1, le=50)
