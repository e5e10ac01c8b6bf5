"""Feed documents (generations of items, the pointer to the current one, follows) and the bodies
of the feed routes."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LIVESTREAM, POSTS = "livestream", "posts"
KINDS = (LIVESTREAM, POSTS)
Kind = Literal["livestream", "posts"]


class FeedMetadata(BaseModel):
    s_score: float = Field(description="the item's place in its generation: higher first (rules.s_score)")
    tickets: int = 0
    gifts: int = 0
    unlocks: int = 0
    viewers: int = 0
    age_seconds: float = 0


class FeedItem(BaseModel):
    """One session or post of a generation, kept at
    `feeds/{kind}/generations/{gen}/items/{id}` (the id is the session's or the post's).
    `rank` is its zero-padded position in the generation: the order pages are read in. Only the
    displayed fields (head_count, live, the pre-sale's progress) change after it is written."""

    id: str
    kind: Kind
    user_id: str = Field(description="the streamer or the creator")
    rank: str
    metadata: FeedMetadata
    title: str | None = None
    live: bool | None = Field(None, description="livestream: False once the session ended (gone next generation)")
    head_count: int | None = None
    funding_goal_id: str | None = Field(None, description="livestream: the session's open pre-sale")
    progress: int | None = Field(None, description="tickets sold in the open pre-sale")
    target: int | None = None
    caption: str | None = None
    pricing: Literal["free", "paid"] | None = None
    nbf: float | None = None


class FeedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(None, max_length=64, description="next_cursor of the previous page")
    limit: int = Field(20, ge=1, le=50)
    followed: bool = Field(False, description="the streamers you follow first, then everyone else")


class FeedPage(BaseModel):
    kind: Kind
    generation: str | None = Field(description="the generation this page (and its cursor) belongs to")
    items: list[FeedItem]
    next_cursor: str | None = Field(description="`{generation}.{phase}{rank}`: pages the same generation")


class Follow(BaseModel):
    """`follows/{follower}_{streamer}`: one follower of one streamer."""

    follower: str
    streamer: str
    at: float


class FollowState(BaseModel):
    streamer_id: str
    following: bool
    since: float | None = None
