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

    @property
    def uploaded_file(self) -> StoredFile:
        """The file of an uploaded artifact (its status becomes "uploaded" only with its file)."""
        if self.file is None:
            raise ValueError(f"artifact {self.id} has no file")
        return self.file


class EncodedFile(BaseModel):
    """One output of the encoder, in the media bucket."""

    object_name: str
    content_type: str
    size: int
    encrypted: bool = False  # opened only with the encoding's content key
    iv: str | None = None  # hex: an encrypted image's AES-CBC IV (HLS segments use their sequence number)
    copied_from: str | None = None  # an uploaded artifact copied as it is


class Rendition(BaseModel):
    """One HLS rendition: its media playlist in the media bucket, beside its segments."""

    name: str
    width: int
    height: int
    bandwidth: int  # bits per second of its busiest segment (the master playlist's BANDWIDTH)
    playlist: str
    segments: int


class Encoding(BaseModel):
    """The encoder's work on one source generation (seed: `encode_message`, `encode_v2`)."""

    generation: int
    status: Literal["queued", "encoding", "ready", "failed"] = "queued"
    key_id: str
    outputs: dict[str, EncodedFile] = Field(default_factory=dict, description="by label")
    renditions: list[Rendition] = Field(default_factory=list)
    reason: str | None = None
    queued_at: float
    started_at: float | None = None
    attempt_at: float | None = None  # when the latest attempt started
    finished_at: float | None = None


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
    encoding: Encoding | None = None
    created_at: float

    def thumbnail(self) -> Artifact | None:
        """The newest uploaded thumbnail that probed as the image it claims to be."""
        found = [a for a in self.artifacts.values() if a.label == "thumbnail" and a.status == "uploaded"
                 and a.metadata and a.file]
        return max(found, key=lambda a: a.uploaded_file.uploaded_at, default=None)

    @property
    def probed(self) -> bool:
        return bool(self.source and self.metadata.get("generation") == self.source.generation)

    @property
    def encoded(self) -> Encoding | None:
        """The finished (ready or failed) encoding of the current source, if there is one."""
        enc = self.encoding
        if enc and self.source and enc.generation == self.source.generation and enc.status in ("ready", "failed"):
            return enc
        return None


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


class EncodeStatus(BaseModel):
    """`message.processing.started` (when an encode starts) and `asset.encoded` (when it is ready or
    failed): the claiming posts follow both (seed: `update_message_asset_status`)."""

    asset_id: str
    generation: int
    status: Literal["encoding", "ready", "failed"]
