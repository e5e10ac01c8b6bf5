"""Creating posts, what a viewer sees of them, listing a creator's, and unlocking them with one of
their costs. Only this feature writes `posts`; an unlock moves money only through the ledger and
uses a voucher only through the backpack feature."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared.assets import service as assets
from shared.assets.models import Asset
from shared.backpack import service as backpack
from shared.core import clock, ids, steps
from shared.core.config import settings
from shared.core.errors import AlreadyApplied, Conflict, Forbidden, NotFound, field_error
from shared.core.firestore import Txn, db, document, field_filter, load
from shared.core.registry import REGISTRY
from shared.core.steps import Effects
from shared.ledger import book, spending
from shared.ledger.models import earnings, revenue, wallet
from shared.posts import playback
from shared.posts.models import (
    MediaItem,
    Post,
    PostCreate,
    PostPage,
    PostView,
    StatusTransitions,
    Unlock,
    UnlockRequest,
    Voucher,
    offered,
    split,
)

POSTS, UNLOCKS = "posts", "unlocks"


class PostCreated(BaseModel):
    post_id: str
    user_id: str


class PostUnlocked(BaseModel):
    """`post.unlocked`: a viewer unlocked a post, once (tracked for analytics)."""

    post_id: str
    viewer_id: str
    creator_id: str
    unlock: str  # the unlock's `_cls`
    amount: int
    currency: str | None  # None: a voucher


# The seeds' `DocumentLifecycleMixin.on_post_save`: published from the step that creates the post
POST_CREATED = REGISTRY.signal("post.created", PostCreated, key=lambda e: e.post_id)
POST_UNLOCKED = REGISTRY.signal("post.unlocked", PostUnlocked, key=lambda e: f"{e.post_id}:{e.viewer_id}")
# published from the step that moves a post to ready (the feeds list it once its nbf has come)
POST_READY = REGISTRY.signal("post.ready", PostCreated, key=lambda e: e.post_id)


def post_ref(post_id: str):
    return db().collection(POSTS).document(post_id)


def unlock_ref(post_id: str, viewer_id: str):
    return post_ref(post_id).collection(UNLOCKS).document(viewer_id)


def load_post(post_id: str, txn: Txn | None = None) -> Post:
    return load(post_ref(post_id), Post, "post", txn)


def create(user_id: str, request: PostCreate) -> Post:
    """A post of the creator's own uploaded assets, processing until each is claimed and probed."""
    if (request.pricing.kind == "paid") != bool(request.cost):
        raise field_error(["body", "cost"], "a paid post needs a cost, a free one none")
    if len(set(request.assets)) != len(request.assets):
        raise field_error(["body", "assets"], "an asset appears twice")
    found: list[Asset] = []
    for asset_id in request.assets:
        asset = assets.get(asset_id)
        if asset.user_id != user_id:
            raise Forbidden(f"asset {asset_id} is not yours", code="not_your_asset")
        if asset.source is None or asset.status == "failed":
            raise Conflict(f"asset {asset_id} is not uploaded", code="asset_not_uploaded",
                           details={"status": asset.status, "reason": asset.reason})
        found.append(asset)
    now = clock.now()
    post = Post(id=ids.new_id(), user_id=user_id, assets=request.assets, caption=request.caption,
                pricing=request.pricing, cost=request.cost,
                media={a.id: MediaItem(asset_id=a.id, kind=a.kind) for a in found},
                status_transitions=StatusTransitions(created=now, processing=now), nbf=request.nbf or now)

    def body(txn: Txn, fx: steps.Effects) -> Post:
        txn.create(post_ref(post.id), document(post))
        fx.publish(POST_CREATED, PostCreated(post_id=post.id, user_id=user_id))
        return post

    return steps.run(f"create_post:{post.id}", body, redelivered=False)


def follow_asset(txn: Txn, fx: steps.Effects, post_ids: list[str], asset: Asset) -> None:
    """The posts' view of an asset they claimed (seed: `update_message_asset_metadata`,
    `update_message_artifacts`): its probed metadata and thumbnail; a post is ready once every asset
    is probed, failed if one failed. Reads every post first, then writes."""
    posts = [load_post(post_id, txn) for post_id in post_ids]
    for post in posts:
        if asset.id in post.media:
            _follow(txn, fx, post, asset)


def _follow(txn: Txn, fx: steps.Effects, post: Post, asset: Asset) -> None:
    encoded = asset.encoded
    failed = asset.status == "failed" or (encoded is not None and encoded.status == "failed")
    ready = encoded if encoded is not None and not failed else None
    item = MediaItem(asset_id=asset.id, kind=asset.kind,
                     status="failed" if failed else "ready" if ready else "processing",
                     metadata=asset.metadata if asset.probed else {},
                     reason=asset.reason or (encoded and encoded.reason),
                     generation=ready.generation if ready else None, key_id=ready.key_id if ready else None,
                     outputs=ready.outputs if ready else {}, renditions=ready.renditions if ready else [])
    change: dict[str, Any] = {f"media.{asset.id}": item.model_dump(mode="json")}
    if post.status == "processing":
        states = {m.status for m in {**post.media, asset.id: item}.values()}
        moved = "failed" if "failed" in states else "ready" if states == {"ready"} else None
        if moved:
            change |= {"status": moved, f"status_transitions.{moved}": clock.now()}
            if moved == "ready":
                fx.publish(POST_READY, PostCreated(post_id=post.id, user_id=post.user_id))
    txn.update(post_ref(post.id), change)


def unlocked(post: Post, viewer_id: str) -> bool:
    return post.pricing.kind == "free" or viewer_id == post.user_id or unlock_ref(post.id, viewer_id).get().exists


def require_open(post: Post, viewer_id: str) -> None:
    """Only the creator, and once the post is published the viewers who unlocked it (anyone when
    it is free), may open its media: checked on every playlist and key request."""
    if viewer_id != post.user_id and not post.published():
        raise NotFound(f"post {post.id} not found", code="post_not_found")
    if not unlocked(post, viewer_id):
        raise Forbidden("unlock this post first", code="post_locked")


def view(post: Post, viewer_id: str) -> PostView:
    """A locked post: caption, price, thumbnail and previews; once unlocked (or to its creator):
    its encrypted media and their key ids too."""
    now = clock.now()
    if viewer_id != post.user_id and not post.published(now):
        raise NotFound(f"post {post.id} not found", code="post_not_found")
    locked = not unlocked(post, viewer_id)
    media = [playback.media_view(post, post.media[a], locked) for a in post.assets if post.media[a].status == "ready"]
    return PostView(id=post.id, user_id=post.user_id, caption=post.caption, pricing=post.pricing, cost=post.cost,
                    status=post.status, nbf=post.nbf, published=post.published(now), locked=locked,
                    thumbnail_url=media[0].previews.get("thumbnail") if media else None, media=media)


def of_user(user_id: str, viewer_id: str, cursor: str | None, limit: int) -> PostPage:
    """The creator's published posts, newest first, `limit` at a time after `cursor` (a post id)."""
    query = (db().collection(POSTS).where(filter=field_filter("user_id", "==", user_id))
             .where(filter=field_filter("status", "==", "ready")).where(filter=field_filter("nbf", "<=", clock.now()))
             .order_by("nbf", direction="DESCENDING"))
    if cursor:
        last = post_ref(cursor).get()
        if not last.exists or last.get("user_id") != user_id:
            raise field_error(["query", "cursor"], "not a cursor of this list")
        query = query.start_after(last)
    snaps = list(query.limit(limit + 1).stream())
    posts = [Post.model_validate({**s.to_dict(), "id": s.id}) for s in snaps[:limit]]
    return PostPage(posts=[view(p, viewer_id) for p in posts],
                    next_cursor=posts[-1].id if len(snaps) > limit else None)


def unlock(viewer_id: str, post_id: str, request: UnlockRequest, client_key: steps.ClientKey | None = None) -> Unlock:
    """Pay one of the post's costs once: its price from the viewer's wallet in its currency to the
    creator's earnings in it, less the platform's share, or a voucher from the viewer's backpack.
    Asked again, with any cost, it answers the same unlock and moves or uses nothing."""
    def existing() -> Unlock | None:
        snap = unlock_ref(post_id, viewer_id).get()
        return Unlock.model_validate(snap.to_dict()) if snap.exists else None

    def body(txn: Txn, fx: Effects) -> Unlock:
        post = load_post(post_id, txn)
        snap = unlock_ref(post_id, viewer_id).get(transaction=txn)
        if snap.exists:
            return Unlock.model_validate(snap.to_dict())
        if not post.published():
            raise Conflict("this post is not published", code="post_not_published")
        if viewer_id == post.user_id or post.pricing.kind == "free":
            raise Conflict("nothing to unlock: the post is free or yours", code="nothing_to_unlock")
        cost = offered(post.cost, request.cost)
        if cost is None:
            raise field_error(["body", "cost"], f"this post is not unlocked with {request.cost}")
        if isinstance(cost, Voucher):
            use = backpack.take_voucher(txn, viewer_id, post.user_id, post_id)  # reads: before any write
            made = Unlock(post_id=post_id, viewer_id=viewer_id, cls=cost.unlock, amount=0, voucher_id=use().id,
                          at=clock.now())
        else:
            creator_part, fee = split(cost.amount, settings().platform_share_percent)
            payer, meta = wallet(viewer_id, cost.currency), {"post_id": post_id}
            moves = [book.Move(f"unlock:{post_id}:{viewer_id}", payer, earnings(post.user_id, cost.currency),
                               creator_part, metadata=meta)]
            if fee:
                moves.append(book.Move(f"unlock:{post_id}:{viewer_id}:fee", payer, revenue(cost.currency), fee,
                                       metadata=meta))
            transfer = book.execute(txn, moves)[0]
            made = Unlock(post_id=post_id, viewer_id=viewer_id, cls=cost.unlock, amount=cost.amount,
                          transfer_id=transfer.id, at=clock.now())
            spending.unlocked(fx, made, post.user_id, cost.currency)  # diamonds.spent, for the creator's leaderboards
        txn.create(unlock_ref(post_id, viewer_id), made.model_dump(mode="json", by_alias=True))
        fx.publish(POST_UNLOCKED, PostUnlocked(post_id=post_id, viewer_id=viewer_id, creator_id=post.user_id,
                                               unlock=made.cls, amount=made.amount,
                                               currency=getattr(cost, "currency", None)))
        return made  # the post itself is only read: unlocks of one post do not contend on it

    try:
        return steps.run(f"unlock:{post_id}:{viewer_id}", body, redelivered=False, client_key=client_key,
                         claim=f"unlock:{post_id}:{viewer_id}")
    except AlreadyApplied:
        found = existing()
        if found is None:
            raise
        return found
