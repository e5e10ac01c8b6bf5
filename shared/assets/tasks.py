"""`probe_asset`: once a source is uploaded, what it really is goes into the asset's metadata, or
the asset fails with the reason. One run per uploaded generation; a repeat changes nothing."""
from __future__ import annotations

from pydantic import Field

from shared.assets import probe, service, storage
from shared.core.errors import Retry
from shared.core.firestore import run_transaction
from shared.core.options import QueueOptions
from shared.core.registry import REGISTRY, TaskArgs


class ProbeArgs(TaskArgs):
    asset_id: str = Field(pattern=r"^[0-9a-f]{24}$")
    generation: int

    def task_key(self) -> str:
        return f"{self.asset_id}-{self.generation}"


CHUNK = 2 * 1024 * 1024  # read from the bucket in these: the index of an MP4 may sit at its end
REGISTRY.queue("media", QueueOptions(max_dispatches_per_second=20, max_concurrent_dispatches=10, max_attempts=10))
PROBE_ASSET = REGISTRY.task("probe_asset", queue="media", args=ProbeArgs)


@PROBE_ASSET.handles
def probe_asset(args: ProbeArgs) -> str:
    asset = service.get(args.asset_id)
    if asset.source is None or asset.source.generation != args.generation:
        return "another upload replaced it"
    if asset.metadata.get("generation") == args.generation or asset.status == "failed":
        return "already probed"
    bucket = storage.client().bucket(storage.bucket_name(service.BUCKET))
    blob = bucket.blob(asset.source.object_name, generation=args.generation)  # this upload, not a later one
    from google.api_core.exceptions import NotFound

    try:
        with blob.open("rb", chunk_size=CHUNK) as stream:
            meta = probe.probe(stream)
        probe.check(asset.content_type, meta)
        reason = None
    except probe.Unreadable as unreadable:
        meta, reason = {}, str(unreadable)
    except NotFound:  # replaced (its own probe follows) or deleted: nothing to read, ever
        meta, reason = {}, "the upload is gone"
    except Exception as trouble:  # the bucket did not answer: Cloud Tasks tries again
        raise Retry(f"could not read {asset.source.object_name}: {trouble}") from None

    def body(txn) -> str:
        current = service.get(args.asset_id, txn)
        if current.source is None or current.source.generation != args.generation:
            return "another upload replaced it"
        change = {"metadata": {**meta, "generation": args.generation}}
        if reason:
            change |= {"status": "failed", "reason": reason}
        txn.update(service.asset_ref(args.asset_id), change)
        return reason or "probed"

    return run_transaction(body)
