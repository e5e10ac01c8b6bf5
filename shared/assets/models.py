"""Assets (`assets/{id}`): an uploaded source and its artifacts (seed 004, "Asset uploading",
"Upload Artifact"), and the requests and views around them."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

MB = 1024 * 1024
# What may be uploaded, and how large (bytes): the documented allow-list
ALLOWED: dict[str, int] = {
    "image/jpeg": 20 * MB, "image/png": 20 * MB, "image/webp": 20 * MB,
    "video/mp4": 2048 * MB, "video/quicktime": 2048 * MB,
}
ContentType = Literal["image/jpeg", "image/png", "image/webp", "video/mp4", "video/quicktime"]
Label = Literal["thumbnail", "trailer", "aup"]  # the seeds' artifact labels: an uploaded thumbnail, trailer, or `aup`
Status = Literal["created", "uploaded", "failed"]


class Upload(BaseModel):
    """How to upload: PUT the bytes to `url` with exactly these headers before `expires_at`."""

    method: Literal["PUT"] = "PUT"
    url: str
    headers: dict[str, str]
    expires_at: float


class StoredFile(BaseModel):
    """The object as Cloud Storage reported it when it was finalized."""

    object_name: str
    generation: int
    size: int
    content_type: str | None = None
    md5_hash: str | None = None
    crc32c: str | None = None
    uploaded_at: float


class FileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: ContentType
    size: Annotated[StrictInt, Field(gt=0)]

    @model_validator(mode="after")
    def _within_limit(self):
        if self.size > ALLOWED[self.content_type]:
            raise ValueError(f"{self.content_type} files are at most {ALLOWED[self.content_type]} bytes")
        return self


class ArtifactCreate(FileRequest):
    label: Label


class Artifact(BaseModel):
    id: str
    label: Label
    content_type: str
    size: int
    status: Status = "created"
    file: StoredFile | None = None
    metadata: dict = Field(default_factory=dict, description="probed, as the asset's")
    reason: str | None = None


class Asset(BaseModel):
    id: str
    user_id: str
    kind: Literal["image", "video"]
    content_type: str
    size: int
    status: Status = "created"
    source: StoredFile | None = None
    artifacts: dict[str, Artifact] = Field(default_factory=dict)
    metadata: dict = Field(default_factory=dict, description="probed: duration, dimensions, codecs")
    reason: str | None = None
    claims: dict[str, float] = Field(default_factory=dict, description="post id -> when the post claimed it")
    created_at: float

    def thumbnail(self) -> Artifact | None:
        """The newest uploaded thumbnail that probed as the image it claims to be."""
        found = [a for a in self.artifacts.values() if a.label == "thumbnail" and a.status == "uploaded"
                 and a.metadata and a.file]
        return max(found, key=lambda a: a.file.uploaded_at, default=None)

    @property
    def probed(self) -> bool:
        return bool(self.source and self.metadata.get("generation") == self.source.generation)


class AssetUpload(BaseModel):
    asset: Asset
    upload: Upload


class ArtifactUpload(BaseModel):
    artifact: Artifact
    upload: Upload


class AssetCreated(BaseModel):
    asset_id: str
    user_id: str
    kind: str


class AssetClaimed(BaseModel):
    """`asset.claimed`: a post took the asset (seed: `claim_asset`), probed or failed by then."""

    asset_id: str
    post_id: str


class AssetProbed(BaseModel):
    """`asset.probed`: a source or artifact has its metadata, or failed (the posts that claimed the
    asset follow it: the seeds' `update_message_artifacts`)."""

    asset_id: str
    artifact_id: str | None = None
    generation: int
