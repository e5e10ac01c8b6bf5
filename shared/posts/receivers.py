"""Receivers of the post and asset signals (seed 004, "Post"): `post.created` -> `claim_post_assets`
(one `claim_asset` task per asset); `asset.claimed` -> `update_message_asset_metadata` and
`asset.probed` and `asset.encoded` -> `update_message_artifacts` keep the post's view of its assets,
whichever comes first, and move it to ready (or failed) once every asset is encoded;
`message.processing.started` -> `update_message_asset_status` records when processing started.
Each is one idempotent step."""
from __future__ import annotations

from shared.assets import service as assets
from shared.assets.encoder import ASSET_ENCODED, PROCESSING_STARTED
from shared.assets.models import AssetClaimed, AssetProbed, EncodeStatus
from shared.assets.signals import ASSET_CLAIMED, ASSET_PROBED, CLAIM_ASSET, ClaimArgs
from shared.core import clock, steps
from shared.core.firestore import Txn
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.posts import service
from shared.posts.service import POST_CREATED, PostCreated


@REGISTRY.receiver(POST_CREATED, options=FunctionOptions(secrets=("TASK_SECRET",)))
def claim_post_assets(txn: Txn, fx: steps.Effects, event: PostCreated) -> None:
    for asset_id in service.load_post(event.post_id, txn).assets:
        fx.schedule(CLAIM_ASSET, ClaimArgs(asset_id=asset_id, post_id=event.post_id), at=clock.now())


@REGISTRY.receiver(ASSET_CLAIMED)
def update_message_asset_metadata(txn: Txn, fx: steps.Effects, event: AssetClaimed) -> None:
    service.follow_asset(txn, fx, [event.post_id], assets.get(event.asset_id, txn))


@REGISTRY.receiver(ASSET_PROBED)
@REGISTRY.receiver(ASSET_ENCODED)
def update_message_artifacts(txn: Txn, fx: steps.Effects, event: AssetProbed | EncodeStatus) -> None:
    """A probe that finished after the claim, or the encoder's outputs: ready or failed."""
    asset = assets.get(event.asset_id, txn)
    service.follow_asset(txn, fx, sorted(asset.claims), asset)


@REGISTRY.receiver(PROCESSING_STARTED, deployed_as="update_asset_status")  # Cloud Run names stop at 49
def update_message_asset_status(txn: Txn, fx: steps.Effects, event: EncodeStatus) -> None:
    """The encoder started on an asset: the claiming posts record when processing started."""
    asset = assets.get(event.asset_id, txn)
    posts = [service.load_post(post_id, txn) for post_id in sorted(asset.claims)]
    for post in posts:
        if post.status == "processing" and asset.id in post.media:
            txn.update(service.post_ref(post.id), {"status_transitions.processing": clock.now()})
