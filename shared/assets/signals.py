"""The assets feature's declarations: the bucket and its notifications (Cloud Storage's own
messages, not ours: see shared/core/signals.decode, arriving on `storage-events` as the
`storage.object` signal), the asset signals, and the media queue's tasks with their arguments."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.assets.models import AssetClaimed, AssetCreated, AssetProbed
from shared.core.options import QueueOptions
from shared.core.registry import REGISTRY, TaskArgs

ID = r"^[0-9a-f]{24}$"


class StorageObject(BaseModel):
    """The object resource a Cloud Storage notification carries (JSON_API_V1; the fields used
    here), and its event type from the message's attributes."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    bucket: str
    name: str
    generation: str
    event_type: str = Field("OBJECT_FINALIZE", alias="eventType")
    size: str | None = None
    contentType: str | None = None
    md5Hash: str | None = None
    crc32c: str | None = None


STORAGE_OBJECT = REGISTRY.signal(
    "storage.object", StorageObject, key=lambda o: f"{o.bucket}/{o.name}#{o.generation}:{o.event_type}",
    topic="storage-events",
)
REGISTRY.bucket("assets", "uploaded media and their artifacts", notify=STORAGE_OBJECT)
ASSET_CREATED = REGISTRY.signal("asset.created", AssetCreated, key=lambda e: e.asset_id)


class ProbeArgs(TaskArgs):
    asset_id: str = Field(pattern=ID)
    artifact_id: str | None = Field(None, pattern=ID)  # None: the source
    generation: int

    def task_key(self) -> str:
        return f"{self.asset_id}-{self.artifact_id or 'source'}-{self.generation}"


class ClaimArgs(TaskArgs):
    asset_id: str = Field(pattern=ID)
    post_id: str = Field(pattern=ID)

    def task_key(self) -> str:
        return f"{self.asset_id}-{self.post_id}"


REGISTRY.queue("media", QueueOptions(max_dispatches_per_second=20, max_concurrent_dispatches=10, max_attempts=10))
PROBE_ASSET = REGISTRY.task("probe_asset", queue="media", args=ProbeArgs)
CLAIM_ASSET = REGISTRY.task("claim_asset", queue="media", args=ClaimArgs)
ASSET_CLAIMED = REGISTRY.signal("asset.claimed", AssetClaimed, key=lambda e: f"{e.asset_id}:{e.post_id}")
ASSET_PROBED = REGISTRY.signal("asset.probed", AssetProbed,
                               key=lambda e: f"{e.asset_id}:{e.artifact_id or 'source'}:{e.generation}")
