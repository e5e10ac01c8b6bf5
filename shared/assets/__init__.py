"""Uploaded media. The bucket's object-finalize notifications arrive on `storage-events`; the
encoding and trailer receivers that consume them come with the asset pipeline."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.core.registry import REGISTRY


class StorageObject(BaseModel):
    """The object resource a Cloud Storage notification carries (only the fields used here)."""

    model_config = ConfigDict(extra="allow")

    bucket: str
    name: str
    generation: str


STORAGE_OBJECT = REGISTRY.signal(
    "storage.object", StorageObject, key=lambda o: f"{o.bucket}/{o.name}#{o.generation}", topic="storage-events"
)
REGISTRY.bucket("assets", "uploaded media and their artifacts", notify=STORAGE_OBJECT)
