"""Posts (`posts/{id}`, their unlocks in `posts/{id}/unlocks/{viewer}`): the seeds' `Message`
fields as models, and the requests and views around them (seed 004, "Post")."""
from __future__ import annotations

import time
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from shared.assets.models import EncodedFile, Rendition

ID = r"^[0-9a-f]{24}$"
AssetId = Annotated[str, Field(pattern=ID)]


class Caption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=2000)]


class Diamond(BaseModel):
    """A cost in diamonds, paid from the viewer's wallet to the creator's earnings (less the
    platform's share). The seeds' other costs (MessagingDiamonds, Voucher) come with their ledgers."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    cls: Literal["Diamond"] = Field("Diamond", alias="_cls")
    amount: Annotated[StrictInt, Field(gt=0, le=1_000_000)]


Cost = Annotated[Union[Diamond], Field(discriminator="cls")]


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
    cost: list[Cost] = Field(default_factory=list, max_length=3, description="how a paid post is unlocked")
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

    cost: Literal["Diamond"] = Field(description="which of the post's costs to pay")


class Unlock(BaseModel):
    post_id: str
    viewer_id: str
    cls: str = Field("DiamondUnlock", alias="_cls")
    amount: int
    transfer_id: str
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
