"""`probe_asset`: once a source or an artifact is uploaded, what it really is goes into its
metadata, or it fails with the reason (a failed source fails the asset). One run per uploaded
generation; a repeat changes nothing."""
from __future__ import annotations

from typing import Any

from shared.assets import probe, service, storage
from shared.assets.models import Asset, AssetClaimed, AssetProbed
from shared.assets.signals import ASSET_CLAIMED, ASSET_PROBED, CLAIM_ASSET, PROBE_ASSET, ClaimArgs, ProbeArgs
from shared.core import clock, steps
from shared.core.errors import AlreadyApplied, Retry
from shared.core.firestore import Txn

CHUNK = 2 * 1024 * 1024  # read from the bucket in these: the index of an MP4 may sit at its end


@CLAIM_ASSET.handles
def claim_asset(args: ClaimArgs) -> str:
    """The post's claim time under the asset's claims, then `asset.claimed` (seed 004). Probed or
    not: a probe that finishes later publishes `asset.probed`, and the claiming posts follow it."""
    def body(txn: Txn, fx: steps.Effects) -> str:
        service.get(args.asset_id, txn)
        txn.update(service.asset_ref(args.asset_id), {f"claims.{args.post_id}": clock.now()})
        fx.publish(ASSET_CLAIMED, AssetClaimed(asset_id=args.asset_id, post_id=args.post_id))
        return "claimed"

    try:
        return steps.run(f"claim_asset:{args.asset_id}:{args.post_id}", body)
    except AlreadyApplied:
        return "already claimed"


def _target(asset: Asset, args: ProbeArgs):
    """(the file, its declared content type, its metadata, its status) of what the task probes."""
    if args.artifact_id is None:
        return asset.source, asset.content_type, asset.metadata, asset.status
    artifact = asset.artifacts.get(args.artifact_id)
    if artifact is None:
        return None, None, {}, None
    return artifact.file, artifact.content_type, artifact.metadata, artifact.status


@PROBE_ASSET.handles
def probe_asset(args: ProbeArgs) -> str:
    file, content_type, metadata, status = _target(service.get(args.asset_id), args)
    if file is None or file.generation != args.generation:
        return "another upload replaced it"
    if metadata.get("generation") == args.generation or status == "failed":
        return "already probed"
    bucket = storage.client().bucket(storage.bucket_name(service.BUCKET))
    blob = bucket.blob(file.object_name, generation=args.generation)  # this upload, not a later one
    from google.api_core.exceptions import NotFound

    try:
        with blob.open("rb", chunk_size=CHUNK) as stream:
            meta = probe.probe(stream)
        probe.check(content_type, meta)
        reason = None
    except probe.Unreadable as unreadable:
        meta, reason = {}, str(unreadable)
    except NotFound:  # replaced (its own probe follows) or deleted: nothing to read, ever
        meta, reason = {}, "the upload is gone"
    except Exception as trouble:  # the bucket did not answer: Cloud Tasks tries again
        raise Retry(f"could not read {file.object_name}: {trouble}") from None

    def body(txn: Txn, fx: steps.Effects) -> str:
        current, _, _, _ = _target(service.get(args.asset_id, txn), args)
        if current is None or current.generation != args.generation:
            return "another upload replaced it"
        prefix = "" if args.artifact_id is None else f"artifacts.{args.artifact_id}."
        change: dict[str, Any] = {f"{prefix}metadata": {**meta, "generation": args.generation}}
        if reason:
            change |= {f"{prefix}status": "failed", f"{prefix}reason": reason}
        txn.update(service.asset_ref(args.asset_id), change)
        fx.publish(ASSET_PROBED, AssetProbed(asset_id=args.asset_id, artifact_id=args.artifact_id,
                                             generation=args.generation))
        return reason or "probed"

    try:
        return steps.run(f"probe_asset:{args.task_key()}", body)
    except AlreadyApplied:
        return "already probed"
