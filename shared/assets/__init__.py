"""Uploaded media. The bucket's notifications (Cloud Storage's own messages, not ours: see
shared/core/signals.decode) arrive on `storage-events` as the `storage.object` signal."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.core.registry import REGISTRY


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
