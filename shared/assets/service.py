"""Creating assets and artifacts with their signed upload URLs, and taking in what the bucket
says was uploaded. Only this feature writes `assets`."""
from __future__ import annotations

import logging
import re

from shared.assets import storage
from shared.assets.models import (
    Artifact,
    ArtifactCreate,
    ArtifactUpload,
    Asset,
    AssetCreated,
    AssetUpload,
    FileRequest,
    StoredFile,
    Upload,
)
from shared.assets.signals import ASSET_CREATED, PROBE_ASSET, ProbeArgs, StorageObject
from shared.core import clock, ids, steps
from shared.core.errors import Conflict
from shared.core.firestore import Txn, db, document, load
from shared.core.steps import Effects

log = logging.getLogger(__name__)
ASSETS, BUCKET = "assets", "assets"
MAX_ARTIFACTS = 10  # the asset's document stays small
OBJECT = re.compile(r"assets/(?P<asset>[0-9a-f]{24})/(?:source|artifacts/(?P<artifact>[0-9a-f]{24}))")


def asset_ref(asset_id: str):
    return db().collection(ASSETS).document(asset_id)


def get(asset_id: str, txn: Txn | None = None) -> Asset:
    return load(asset_ref(asset_id), Asset, "asset", txn)


def owners(asset_id: str) -> set[str]:
    return {get(asset_id).user_id}


def source_object(asset_id: str) -> str:
    return f"assets/{asset_id}/source"


def artifact_object(asset_id: str, artifact_id: str) -> str:
    return f"assets/{asset_id}/artifacts/{artifact_id}"


def _upload(object_name: str, request: FileRequest) -> Upload:
    url, headers = storage.upload_url(BUCKET, object_name, request.content_type, request.size)
    return Upload(url=url, headers=headers, expires_at=clock.now() + storage.UPLOAD_SECONDS)


def create(user_id: str, request: FileRequest) -> AssetUpload:
    """The asset, awaiting its upload; `asset.created`."""
    asset = Asset(id=ids.new_id(), user_id=user_id, kind=request.content_type.split("/")[0],
                  content_type=request.content_type, size=request.size, created_at=clock.now())
    upload = _upload(source_object(asset.id), request)

    def body(txn: Txn, fx: steps.Effects) -> AssetUpload:
        txn.create(asset_ref(asset.id), document(asset))
        fx.publish(ASSET_CREATED, AssetCreated(asset_id=asset.id, user_id=user_id, kind=asset.kind))
        return AssetUpload(asset=asset, upload=upload)

    return steps.run(f"create_asset:{asset.id}", body, redelivered=False)


def add_artifact(asset_id: str, request: ArtifactCreate) -> ArtifactUpload:
    artifact = Artifact(id=ids.new_id(), label=request.label, content_type=request.content_type, size=request.size)
    upload = _upload(artifact_object(asset_id, artifact.id), request)

    def body(txn: Txn, fx: Effects) -> ArtifactUpload:
        asset = get(asset_id, txn)
        if asset.status == "failed":
            raise Conflict("this asset failed; upload a new one", code="asset_failed")
        if len(asset.artifacts) >= MAX_ARTIFACTS:
            raise Conflict(f"an asset has at most {MAX_ARTIFACTS} artifacts", code="too_many_artifacts")
        txn.update(asset_ref(asset_id), {f"artifacts.{artifact.id}": artifact.model_dump(mode="json")})
        return ArtifactUpload(artifact=artifact, upload=upload)

    return steps.run(f"add_artifact:{artifact.id}", body, redelivered=False)


def _stored(obj: StorageObject) -> StoredFile:
    return StoredFile(object_name=obj.name, generation=int(obj.generation), size=int(obj.size or 0),
                      content_type=obj.contentType, md5_hash=obj.md5Hash, crc32c=obj.crc32c, uploaded_at=clock.now())


def _mismatch(declared_type: str, declared_size: int, file: StoredFile) -> str | None:
    if file.size != declared_size:
        return f"uploaded {file.size} bytes, not the {declared_size} declared"
    if file.content_type != declared_type:
        return f"uploaded as {file.content_type}, not the {declared_type} declared"
    return None


def take_upload(txn: Txn, fx: steps.Effects, obj: StorageObject) -> str:
    """An object finalized in the bucket becomes the asset's source or one artifact's file. An
    older generation than the one kept, or a repeat, changes nothing; an object nobody asked for
    is ignored (logged)."""
    found = OBJECT.fullmatch(obj.name) if obj.bucket == storage.bucket_name(BUCKET) else None
    snap = asset_ref(found["asset"]).get(transaction=txn) if found else None
    if found is None or snap is None or not snap.exists:
        log.warning("an object nobody asked for: %s/%s", obj.bucket, obj.name)
        return "ignored"
    asset = Asset.model_validate({**snap.to_dict(), "id": snap.id})
    file = _stored(obj)
    if found["artifact"] is None:
        if asset.source is not None and asset.source.generation >= file.generation:
            return "older or repeated"
        reason = _mismatch(asset.content_type, asset.size, file)
        txn.update(asset_ref(asset.id), {"source": file.model_dump(mode="json"), "metadata": {},  # probed anew
                                         "status": "failed" if reason else "uploaded", "reason": reason})
        if not reason:  # what it really is, read by the probe_asset task
            _probe_later(fx, asset.id, file.generation)
        return f"source {'failed' if reason else 'uploaded'}"
    artifact = asset.artifacts.get(found["artifact"])
    if artifact is None:
        log.warning("an artifact nobody asked for: %s", obj.name)
        return "ignored"
    if artifact.file is not None and artifact.file.generation >= file.generation:
        return "older or repeated"
    reason = _mismatch(artifact.content_type, artifact.size, file)
    updated = artifact.model_copy(update={"file": file, "status": "failed" if reason else "uploaded", "reason": reason,
                                          "metadata": {}})
    txn.update(asset_ref(asset.id), {f"artifacts.{artifact.id}": updated.model_dump(mode="json")})
    if not reason:
        _probe_later(fx, asset.id, file.generation, artifact.id)
    return f"artifact {updated.status}"


def _probe_later(fx: steps.Effects, asset_id: str, generation: int, artifact_id: str | None = None) -> None:
    fx.schedule(PROBE_ASSET, ProbeArgs(asset_id=asset_id, artifact_id=artifact_id, generation=generation),
                at=clock.now())
