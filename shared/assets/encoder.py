"""The media encoder: its own function (memory, CPU, a long timeout), fed by Cloud Tasks one job per
source generation (`encode_asset`). It reads the source from the assets bucket, runs the ffmpeg
commands of shared.assets.encoding (the imageio-ffmpeg wheel's static build, the same locally and
deployed), writes the outputs to the media bucket, and records them in one step.

A job is idempotent by (asset, generation): a repeat of a finished job changes nothing, a retried
one rewrites the same objects with the same key. A file ffmpeg cannot encode ends the job `failed`
with ffmpeg's reason; a bucket that does not answer is retried by Cloud Tasks."""
from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import Field

from shared.assets import encoding, keys, service, storage
from shared.assets.models import Artifact, Asset, EncodedFile, EncodeStatus, Encoding, Rendition, StoredFile
from shared.core import clock, steps
from shared.core.errors import AlreadyApplied, Retry
from shared.core.firestore import Txn, db, field_filter, run_transaction
from shared.core.options import FunctionOptions, QueueOptions
from shared.core.registry import REGISTRY, TaskArgs

log = logging.getLogger(__name__)
MEDIA = "media"
REGISTRY.bucket(MEDIA, "encoded media: renditions, previews, trailers and encrypted HLS segments")
WORKER = REGISTRY.worker("media-encoder", FunctionOptions(memory="8Gi", cpu="4", timeout=1800, max_instances=10,
                                                          secrets=("TASK_SECRET",)))
REGISTRY.queue("encoding", QueueOptions(max_dispatches_per_second=5, max_concurrent_dispatches=10, max_attempts=10,
                                        min_backoff=30, max_backoff=900))
COMMAND_SECONDS = 1500  # all of a job's commands, inside the worker's 1800 s


class EncodeArgs(TaskArgs):
    asset_id: str = Field(pattern=r"^[0-9a-f]{24}$")
    generation: int

    def task_key(self) -> str:
        return f"{self.asset_id}-{self.generation}"


ENCODE_ASSET = REGISTRY.task("encode_asset", queue="encoding", args=EncodeArgs, worker=WORKER)
PROCESSING_STARTED = REGISTRY.signal("message.processing.started", EncodeStatus,
                                     key=lambda e: f"{e.asset_id}:{e.generation}")
ASSET_ENCODED = REGISTRY.signal("asset.encoded", EncodeStatus, key=lambda e: f"{e.asset_id}:{e.generation}")


class Unencodable(Exception):
    """ffmpeg refused the file: no retry will change that."""


def queue(txn: Txn, fx: steps.Effects, asset_id: str) -> str:
    """Queue the encode of a claimed, probed source once per generation, with its content key
    (seeds: `trigger_encode_message`, `trigger_encode_gcp_transcoder`)."""
    asset = service.get(asset_id, txn)
    if not asset.claims or not asset.probed or asset.status == "failed":
        return "not claimed and probed yet"
    generation = _source(asset).generation
    if asset.encoding and asset.encoding.generation == generation:
        return "queued before"
    key = keys.ensure(txn, asset.id, generation)
    queued = Encoding(generation=generation, key_id=key.key_id, queued_at=clock.now())
    txn.update(service.asset_ref(asset.id), {"encoding": queued.model_dump(mode="json")})
    fx.schedule(ENCODE_ASSET, EncodeArgs(asset_id=asset.id, generation=generation), at=clock.now())
    return "queued"


@ENCODE_ASSET.handles
def encode_asset(args: EncodeArgs) -> str:
    asset = service.get(args.asset_id)
    if asset.encoding is None or asset.encoding.generation != args.generation:
        return "another upload replaced it"
    if asset.encoding.status in ("ready", "failed"):
        return f"already {asset.encoding.status}"
    _record(args, status="encoding")
    _attempting(args)
    key = keys.get(asset.encoding.key_id)
    if key is None:  # made in the transaction that queued the encode, and never deleted
        raise LookupError(f"content key {asset.encoding.key_id} of asset {asset.id} is missing")
    try:
        outputs, renditions = _encode(asset, key)
    except Unencodable as refused:
        return _record(args, status="failed", reason=str(refused))
    return _record(args, status="ready", outputs=outputs, renditions=renditions)


def _record(args: EncodeArgs, status: str, reason: str | None = None, outputs=None, renditions=None) -> str:
    """One step per status: `encoding` publishes message.processing.started, ready and failed
    publish asset.encoded. Only the job's own generation, and only forward."""
    def body(txn: Txn, fx: steps.Effects) -> str:
        enc = service.get(args.asset_id, txn).encoding
        if enc is None or enc.generation != args.generation or enc.status in ("ready", "failed"):
            return "superseded"
        now = clock.now()
        change: dict[str, Any] = {"encoding.status": status}
        if status == "encoding":
            change["encoding.started_at"] = now
        else:
            change |= {"encoding.finished_at": now, "encoding.reason": reason,
                       "encoding.outputs": {k: v.model_dump(mode="json") for k, v in (outputs or {}).items()},
                       "encoding.renditions": [r.model_dump(mode="json") for r in renditions or []]}
        txn.update(service.asset_ref(args.asset_id), change)
        fx.publish(PROCESSING_STARTED if status == "encoding" else ASSET_ENCODED,
                   EncodeStatus(asset_id=args.asset_id, generation=args.generation, status=status))
        return reason or status

    try:
        return steps.run(f"encode_asset:{args.task_key()}:{status}", body)
    except AlreadyApplied:
        return f"already {status}"


def _attempting(args: EncodeArgs) -> None:
    """When this attempt started: the stalled-encode backstop waits for attempts, not for the queue."""
    def touch(txn: Txn) -> None:
        enc = service.get(args.asset_id, txn).encoding
        if enc and enc.generation == args.generation and enc.status == "encoding":
            txn.update(service.asset_ref(args.asset_id), {"encoding.attempt_at": clock.now()})

    run_transaction(touch)


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run(commands: list[list[str]], deadline: float) -> None:
    """Run ffmpeg commands in order; a refusal is Unencodable with ffmpeg's last words."""
    for command in commands:
        try:
            done = subprocess.run([ffmpeg(), "-v", "error", "-xerror", "-nostdin", "-y", *command], capture_output=True,
                                  timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:  # as long again next time: too long for the encoder
            raise Unencodable(f"the encode takes longer than {COMMAND_SECONDS} s") from None
        if done.returncode < 0:  # killed (out of memory, the instance stopping): another attempt may do
            raise Retry(f"ffmpeg was stopped by signal {-done.returncode}")
        if done.returncode != 0:
            last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise Unencodable(f"ffmpeg could not encode it: {last[:300]}")


def _encode(asset: Asset, key: keys.ContentKey) -> tuple[dict[str, EncodedFile], list[Rendition]]:
    deadline = time.monotonic() + COMMAND_SECONDS
    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "source")
        _download(asset, source)
        key_file = os.path.join(work, "key")
        with open(key_file, "wb") as secret:
            secret.write(key.secret)
        uploaded: dict[str, str] = {a.label: a.id for a in (asset.thumbnail(), _trailer(asset)) if a}
        if asset.kind == "video":
            info = os.path.join(work, "key-info")
            with open(info, "w") as key_info:  # the playlists name the key by id; the API answers it
                key_info.write(encoding.key_info(f"key:{key.key_id}", key_file))
            plan = encoding.video(asset.metadata, source, os.path.join(work, "out"), info, uploaded)
        else:
            plan = encoding.image(asset.metadata, source, os.path.join(work, "out"), uploaded)
        os.makedirs(os.path.join(work, "out"), exist_ok=True)
        run(plan.commands, deadline)
        return _publish(asset, plan, key, os.path.join(work, "out"))


def _trailer(asset: Asset) -> Artifact | None:
    found = [a for a in asset.artifacts.values() if a.label == "trailer" and a.status == "uploaded" and a.metadata]
    return max(found, key=lambda a: a.uploaded_file.uploaded_at, default=None)


def _source(asset: Asset) -> StoredFile:
    """The source of an asset that is probed or being encoded: it has one."""
    if asset.source is None:
        raise ValueError(f"asset {asset.id} has no source")
    return asset.source


def _encoding(asset: Asset) -> Encoding:
    """The encode of an asset being encoded (encode_asset has checked it is there)."""
    if asset.encoding is None:
        raise ValueError(f"asset {asset.id} has no encoding")
    return asset.encoding


def _download(asset: Asset, path: str) -> None:
    from google.api_core.exceptions import NotFound

    source = _source(asset)
    blob = storage.client().bucket(storage.bucket_name(service.BUCKET)).blob(
        source.object_name, generation=_encoding(asset).generation)
    try:
        blob.download_to_filename(path)
    except NotFound:
        raise Unencodable("the upload is gone") from None
    except Exception as trouble:
        raise Retry(f"could not read {source.object_name}: {trouble}") from None


def _prefix(asset: Asset) -> str:
    return f"assets/{asset.id}/{_encoding(asset).generation}"


def _publish(asset: Asset, plan: encoding.Plan, key: keys.ContentKey, out: str):
    """Upload every output (images encrypted first), copy the uploaded artifacts server-side."""
    bucket = storage.client().bucket(storage.bucket_name(MEDIA))
    prefix, files, outputs = _prefix(asset), [], {}
    for output in plan.outputs:
        if output.label == "hls":
            continue
        name = f"{prefix}/{os.path.basename(output.path)}"
        iv = None
        if output.encrypted:
            with open(output.path, "rb") as clear:
                iv_bytes, sealed = keys.encrypt(key.secret, name, clear.read())
            with open(output.path, "wb") as out_file:
                out_file.write(sealed)
            iv = iv_bytes.hex()
        files.append((output.path, name, output.content_type))
        outputs[output.label] = EncodedFile(object_name=name, content_type=output.content_type,
                                            size=os.path.getsize(output.path), encrypted=output.encrypted, iv=iv)
    renditions = []
    for r in plan.renditions:
        folder = os.path.join(out, "hls", r["name"])
        with open(os.path.join(folder, "index.m3u8")) as playlist:
            segments = encoding.segments(playlist.read())
        for name in sorted(os.listdir(folder)):
            kind = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp2t"
            files.append((os.path.join(folder, name), f"{prefix}/hls/{r['name']}/{name}", kind))
        peak = max((os.path.getsize(os.path.join(folder, uri)) * 8 / max(d, 0.1) for d, uri in segments), default=0)
        renditions.append(Rendition(name=r["name"], width=r["width"], height=r["height"], bandwidth=int(peak),
                                    playlist=f"{prefix}/hls/{r['name']}/index.m3u8", segments=len(segments)))
    if renditions:
        outputs["hls"] = EncodedFile(object_name=f"{prefix}/hls", content_type="application/vnd.apple.mpegurl",
                                     size=sum(os.path.getsize(p) for p, n, _ in files if "/hls/" in n), encrypted=True)

    def upload(item):
        path, name, content_type = item
        bucket.blob(name).upload_from_filename(path, content_type=content_type)

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(upload, files))
        for label, artifact_id in plan.copies.items():
            outputs[label] = _copy(asset, artifact_id, f"{prefix}/{label}", bucket)
    except Exception as trouble:  # the bucket did not answer: the retry rewrites the same objects
        raise Retry(f"could not write the outputs: {trouble}") from None
    return outputs, renditions


def _copy(asset: Asset, artifact_id: str, name: str, bucket) -> EncodedFile:
    """An uploaded artifact into the media bucket as it is: a server-side rewrite, no re-encode
    (seeds: `trigger_upload_custom_thumbnail`, the uploaded-trailer branch of `trigger_encode_trailer`)."""
    artifact = asset.artifacts[artifact_id]
    file = artifact.uploaded_file  # the plan copies uploaded artifacts only
    source = storage.client().bucket(storage.bucket_name(service.BUCKET)).blob(
        service.artifact_object(asset.id, artifact_id), generation=file.generation)
    target = bucket.blob(name)
    token, _, _ = target.rewrite(source)
    while token is not None:  # large objects across buckets take more than one call
        token, _, _ = target.rewrite(source, token=token)
    return EncodedFile(object_name=name, content_type=artifact.content_type, size=file.size, copied_from=artifact_id)


# An attempt runs at most 1,800 s and Cloud Tasks waits at most 900 s before the next one; a queue
# backlog may hold a job back longer, so a job never attempted gets a day.
STALLED_ATTEMPT = 2 * 3600
STALLED_QUEUED = 24 * 3600
STALLED_REASON = "the encode did not finish; upload the file as a new asset"


def stalled(now: float, limit: int = 50) -> list[tuple[str, int]]:
    """(asset, generation) of encodes whose task is gone: queued a day ago and never attempted, or
    last attempted long ago (Cloud Tasks dropped it after its last retry)."""
    query = (db().collection(service.ASSETS).where(filter=field_filter("encoding.status", "in", ["queued", "encoding"]))
             .where(filter=field_filter("encoding.queued_at", "<", now - STALLED_ATTEMPT)).limit(limit))
    found = []
    for snap in query.stream():
        enc = Encoding.model_validate(snap.get("encoding"))
        if (enc.attempt_at or 0) < now - STALLED_ATTEMPT and enc.queued_at < now - (
                STALLED_ATTEMPT if enc.attempt_at else STALLED_QUEUED):
            found.append((snap.id, enc.generation))
    return found


def fail_stalled(now: float) -> int:
    """The maintenance tick's backstop: an encode whose task is gone fails, and its posts with it.
    A run finishing later finds it failed and changes nothing."""
    failed = 0
    for asset_id, generation in stalled(now):
        args = EncodeArgs(asset_id=asset_id, generation=generation)
        failed += _record(args, "failed", STALLED_REASON) == STALLED_REASON
    return failed
