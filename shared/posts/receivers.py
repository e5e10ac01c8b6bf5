"""Receivers of the post and asset signals (seed 004, "Post"): `post.created` -> `claim_post_assets`
(one `claim_asset` task per asset); `asset.claimed` -> `update_message_asset_metadata` and
`asset.probed` -> `update_message_artifacts` keep the post's view of its assets, whichever comes
first, and move it to ready (or failed). Each is one idempotent step."""
from __future__ import annotations

from shared.assets import service as assets
from shared.assets.models import AssetClaimed, AssetProbed
from shared.assets.tasks import ASSET_CLAIMED, ASSET_PROBED, CLAIM_ASSET, ClaimArgs
from shared.core import clock, steps
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.posts import service
from shared.posts.service import POST_CREATED, PostCreated


@REGISTRY.receiver(POST_CREATED, options=FunctionOptions(secrets=("TASK_SECRET",)))
def claim_post_assets(txn, fx: steps.Effects, event: PostCreated) -> None:
    for asset_id in service.load_post(event.post_id, txn).assets:
        fx.schedule(CLAIM_ASSET, ClaimArgs(asset_id=asset_id, post_id=event.post_id), at=clock.now())


@REGISTRY.receiver(ASSET_CLAIMED)
def update_message_asset_metadata(txn, fx: steps.Effects, event: AssetClaimed) -> None:
    service.follow_asset(txn, [event.post_id], assets.get(event.asset_id, txn))


@REGISTRY.receiver(ASSET_PROBED)
def update_message_artifacts(txn, fx: steps.Effects, event: AssetProbed) -> None:
    """A probe that finished after the claim (the source, or a thumbnail that came later)."""
    asset = assets.get(event.asset_id, txn)
    service.follow_asset(txn, sorted(asset.claims), asset)
