"""Uploads through signed URLs to the local Cloud Storage (fake-gcs-server), and the bucket's own
notifications making them the assets' files: duplicates, older generations and strangers' objects
change nothing."""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import time

import pytest
import requests

from shared.assets import service, storage
from shared.core import steps, tasks
from shared.core.config import settings
from tests.e2e.helpers import asset_when, generated, png, put, start
from tests.support import User, settled, wait_until

pytestmark = pytest.mark.stack


@functools.cache
def mp4() -> bytes:
    return generated(["-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=25", "-f", "lavfi", "-i",
                      "sine=duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"], ".mp4")


def md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_an_upload_and_its_artifact_become_the_asset_s_files(api):
    creator = User.new("role:creator")
    started = start(api, creator)
    url = started["upload"]["url"]
    assert started["asset"]["status"] == "created" and "X-Goog-Signature=" in url and "X-Goog-Expires=900" in url
    # type and size are signed, and the URL may only create the object, not replace it
    assert "X-Goog-SignedHeaders=content-type%3Bhost%3Bx-goog-content-length-range%3Bx-goog-if-generation-match" in url
    assert started["upload"]["headers"] == {"Content-Type": "image/png", "x-goog-if-generation-match": "0",
                                            "x-goog-content-length-range": f"{len(png())},{len(png())}"}
    put(started["upload"], png())
    asset = asset_when(api, creator, started["asset"]["id"], lambda a: a["status"] == "uploaded" and a["metadata"])
    assert asset["metadata"]["video"] == {"codec": "png", "width": 64, "height": 48, "frame_rate": 25.0}
    assert (asset["source"]["size"], asset["source"]["content_type"], asset["source"]["md5_hash"]) == (
        len(png()), "image/png", md5(png()))

    artifacts = {}
    for label, data, content_type in (("thumbnail", png(), "image/png"), ("trailer", os.urandom(500), "video/mp4")):
        made = api.call("POST", f"/assets/{asset['id']}/artifacts", creator,
                        json={"label": label, "content_type": content_type, "size": len(data)})
        assert made.status_code == 201, made.text
        put(made.json()["upload"], data)
        artifacts[label] = (made.json()["artifact"]["id"], data)

    def probed(a) -> bool:
        return all(a["artifacts"][i]["metadata"] or a["artifacts"][i]["status"] == "failed"
                   for i, _ in artifacts.values())

    asset = asset_when(api, creator, asset["id"], probed)
    thumbnail, trailer = (asset["artifacts"][artifacts[label][0]] for label in ("thumbnail", "trailer"))
    assert thumbnail["status"] == "uploaded" and thumbnail["file"]["md5_hash"] == md5(png())
    assert thumbnail["metadata"]["video"]["codec"] == "png"
    assert trailer["status"] == "failed" and trailer["reason"].startswith("not a")  # random bytes are no video
    assert asset["status"] == "uploaded"  # a failed artifact leaves its asset alone
    assert api.call("GET", f"/assets/{asset['id']}", User.new("role:creator")).status_code == 403


def test_an_upload_unlike_its_declaration_fails_the_asset(api):
    creator = User.new("role:creator")
    started = start(api, creator)
    headers = {"Content-Type": "image/png"}  # the local bucket does not enforce the signed length
    assert requests.put(started["upload"]["url"], data=png()[:100], headers=headers, timeout=30).status_code == 200
    asset = asset_when(api, creator, started["asset"]["id"], lambda a: a["status"] == "failed")
    assert asset["reason"] == f"uploaded 100 bytes, not the {len(png())} declared"


def test_repeated_older_and_unknown_notifications_change_nothing(api):
    from google.cloud import pubsub_v1

    creator = User.new("role:creator")
    started = start(api, creator)
    put(started["upload"], png())
    asset = asset_when(api, creator, started["asset"]["id"], lambda a: a["status"] == "uploaded" and a["metadata"])
    blob_name, generation = asset["source"]["object_name"], asset["source"]["generation"]
    bucket = storage.bucket_name(service.BUCKET)
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(settings().project, "storage-events")

    def notify(name: str, gen: int, size: int) -> str:
        data = {"kind": "storage#object", "name": name, "bucket": bucket, "generation": str(gen), "size": str(size),
                "contentType": "image/png", "md5Hash": "x"}
        publisher.publish(topic, json.dumps(data).encode(), eventType="OBJECT_FINALIZE", bucketId=bucket,
                          objectId=name, objectGeneration=str(gen), payloadFormat="JSON_API_V1").result(timeout=30)
        return f"handle_artifact_events_from_google_cloud_storage@storage.object:{bucket}/{name}#{gen}:OBJECT_FINALIZE"

    repeat = notify(blob_name, generation, len(png()))  # Cloud Storage delivers the same notice again
    older = notify(blob_name, generation - 1, 1)  # an older generation arrives late
    stranger = notify(f"assets/{asset['id']}/artifacts/{'0' * 24}", 1, 5)  # an artifact nobody asked for
    tasks.schedule("probe_asset", {"asset_id": asset["id"], "generation": generation}, at=time.time())  # again
    wait_until(lambda: (steps.marker(repeat).get().to_dict() or {}).get("repeats", 0) >= 1
               and steps.marker(older).get().exists and steps.marker(stranger).get().exists, what="the notices")
    settled()  # the repeated probe too
    after = api.call("GET", f"/assets/{asset['id']}", creator).json()
    assert after == asset


def test_bad_uploads_are_refused_before_any_url_is_signed(api):
    creator = User.new("role:creator")
    for body in ({"content_type": "application/x-msdownload", "size": 10}, {"content_type": "image/png", "size": 0},
                 {"content_type": "image/png", "size": 21 * 1024 * 1024}, {"content_type": "image/png"},
                 {"content_type": "image/png", "size": 10, "bucket": "x"}):
        answer = api.call("POST", "/assets", creator, json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "validation_error"), body
    assert api.call("POST", "/assets", User.new(), json={"content_type": "image/png", "size": 10}).status_code == 403


def test_a_video_is_probed_and_a_corrupt_or_mislabelled_upload_fails_cleanly(api):
    creator = User.new("role:creator")
    video = mp4()
    uploads = {"video": (video, "video/mp4"), "corrupt": (os.urandom(4000), "video/mp4"),
               "truncated": (video[: len(video) // 3], "video/mp4"), "image as video": (png(), "video/mp4"),
               "video as image": (video, "image/jpeg")}
    started = {}
    for name, (data, content_type) in uploads.items():
        started[name] = start(api, creator, content_type, len(data))
        put(started[name]["upload"], data)
    done = {name: asset_when(api, creator, s["asset"]["id"], lambda a: a["metadata"] or a["status"] == "failed")
            for name, s in started.items()}
    meta = done["video"]["metadata"]
    assert done["video"]["status"] == "uploaded" and abs(meta["duration"] - 2.0) < 0.2
    assert (meta["video"]["codec"], meta["video"]["width"], meta["video"]["height"], meta["audio"]["codec"]) == (
        "h264", 320, 240, "aac")
    for name in ("corrupt", "truncated", "image as video", "video as image"):
        assert done[name]["status"] == "failed" and done[name]["reason"].startswith("not a"), (name, done[name])
