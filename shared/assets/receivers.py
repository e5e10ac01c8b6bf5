"""Receivers of the asset signals: the bucket's notifications become the assets' files (seed:
`handle_artifact_events_from_google_cloud_storage`), and a claimed,
probed asset is queued for the encoder."""
from __future__ import annotations

import logging

from shared.assets import encoder, service
from shared.assets.models import AssetClaimed, AssetProbed
from shared.assets.signals import ASSET_CLAIMED, ASSET_PROBED, STORAGE_OBJECT, StorageObject
from shared.core import clock, steps
from shared.core.firestore import Txn
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.maintenance import TICK, Tick

log = logging.getLogger(__name__)


@REGISTRY.receiver(STORAGE_OBJECT, applies=lambda o: o.event_type == "OBJECT_FINALIZE",
                   options=FunctionOptions(secrets=("TASK_SECRET",)),  # schedules probe_asset
                   deployed_as="handle_artifact_events")  # Cloud Run names stop at 49 characters
def handle_artifact_events_from_google_cloud_storage(txn: Txn, fx: steps.Effects, event: StorageObject) -> None:
    log.info("%s: %s", event.name, service.take_upload(txn, fx, event))


@REGISTRY.receiver(ASSET_CLAIMED, options=FunctionOptions(secrets=("TASK_SECRET",)))  # schedules encode_asset
@REGISTRY.receiver(ASSET_PROBED, options=FunctionOptions(secrets=("TASK_SECRET",)))
def trigger_encode(txn: Txn, fx: steps.Effects, event: AssetClaimed | AssetProbed) -> None:
    """A claimed asset is encoded once its source is probed, whichever comes last (seeds:
    `trigger_encode_message` for images, `trigger_encode_gcp_transcoder` for video)."""
    log.info("asset %s: %s", event.asset_id, encoder.queue(txn, fx, event.asset_id))


@REGISTRY.receiver(TICK, step=False, options=FunctionOptions(timeout=300, max_instances=1))
def fail_stalled_encodings(tick: Tick) -> str:
    """Idempotent by nature: a failed encode is no longer stalled."""
    return f"failed {encoder.fail_stalled(clock.now())} stalled encodes"
