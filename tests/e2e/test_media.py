"""The encoding pipeline end to end: a creator uploads a 200 s 720p video (made with ffmpeg at test
time) and posts it; the media encoder (its own function, fed by Cloud Tasks) writes the thumbnail,
trailer, blurred previews and AES-128 HLS renditions; a viewer sees the previews only, unlocks with
diamonds, then plays: playlists, a signed segment, its key, decrypted. Without an unlock the key and
the playlists are refused; a repeated encode task changes nothing; an upload ffmpeg cannot decode
fails the post cleanly."""
from __future__ import annotations

import json
import re
import time
from urllib.parse import urljoin

import pytest
import requests

from shared.assets.service import asset_ref
from shared.core import tasks
from shared.core.config import settings
from tests.e2e.helpers import (
    CLIP_SECONDS,
    asset_when,
    clip,
    decrypt,
    generated,
    png,
    post,
    probe,
    provision,
    put,
    start,
)
from tests.support import User, settled, wait_until

pytestmark = pytest.mark.stack
SEGMENTS = 34  # 6 s each, the last one shorter
JPEG = b"\xff\xd8\xff"  # a JPEG file's first bytes


def uploaded(api, creator, data: bytes, content_type: str) -> str:
    started = start(api, creator, content_type, len(data))
    put(started["upload"], data)
    asset_when(api, creator, started["asset"]["id"], lambda a: a["metadata"] or a["status"] == "failed")
    return started["asset"]["id"]


def encoded(api, creator, post_id: str, timeout: float = 180) -> dict:
    return wait_until(lambda: (p := api.call("GET", f"/posts/{post_id}", creator).json())["status"] != "processing"
                      and p, timeout=timeout, interval=0.5, what=f"post {post_id} to be encoded")


def fetch(url: str) -> bytes:
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200, (url, answer.text[:200])
    return answer.content


def test_a_video_post_is_encoded_previewed_unlocked_and_played_with_its_key(api):
    creator, viewer, stranger = User.new("role:creator"), User.new(), User.new()
    asset_id = uploaded(api, creator, clip(), "video/mp4")
    created = post(api, creator, [asset_id], price=40)
    mine = encoded(api, creator, created["id"])
    assert mine["status"] == "ready", mine
    asset = api.call("GET", f"/assets/{asset_id}", creator).json()
    enc = asset["encoding"]
    assert enc["status"] == "ready" and enc["generation"] == asset["source"]["generation"]
    assert [(r["name"], r["width"], r["height"]) for r in enc["renditions"]] == [
        ("source", 1280, 720), ("360p", 640, 360)]
    assert all(r["segments"] == SEGMENTS for r in enc["renditions"]), enc["renditions"]
    assert {"thumbnail", "trailer", "trailer-blurred", "SOURCE-blurred", "hls"} == set(enc["outputs"])

    # A locked viewer: caption, price, thumbnail and previews, never the media or its key
    locked = api.call("GET", f"/posts/{created['id']}", viewer).json()
    (media,) = locked["media"]
    assert locked["locked"] is True and media["key_id"] is None and media["playlist"] is None
    assert set(media["previews"]) == {"thumbnail", "trailer", "trailer-blurred", "SOURCE-blurred"}
    thumbnail = probe(fetch(locked["thumbnail_url"]))
    assert (thumbnail["video"]["codec"], thumbnail["video"]["width"]) == ("mjpeg", 480)
    trailer = probe(fetch(media["previews"]["trailer"]))
    assert trailer["video"]["codec"] == "h264" and 29 <= trailer["duration"] <= 31 and trailer["audio"]
    blurred_trailer = probe(fetch(media["previews"]["trailer-blurred"]))
    assert blurred_trailer["video"]["height"] == 240 and 29 <= blurred_trailer["duration"] <= 31
    blurred = probe(fetch(media["previews"]["SOURCE-blurred"]))
    assert (blurred["video"]["width"], blurred["video"]["height"]) == (426, 240) and "audio" not in blurred
    assert abs(blurred["duration"] - CLIP_SECONDS) < 1
    for label, url in media["previews"].items():  # each output is recorded with its real size
        assert len(fetch(url)) == enc["outputs"][label]["size"] > 0, label
    key_path = f"/posts/{created['id']}/keys/{enc['key_id']}"
    for path in (key_path, f"/posts/{created['id']}/media/{asset_id}/playlist",
                 f"/posts/{created['id']}/media/{asset_id}/renditions/360p"):
        refused = api.call("GET", path, viewer)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "post_locked"), path

    provision(api, viewer, 40)
    assert api.call("POST", f"/posts/{created['id']}/unlock", viewer, json={"cost": "Diamond"}).status_code == 201
    assert api.call("GET", "/wallet", viewer).json()["balance"] == 0
    assert api.call("GET", "/wallet", creator).json()["earnings"] == 40 - 40 * settings().platform_share_percent // 100
    (media,) = api.call("GET", f"/posts/{created['id']}", viewer).json()["media"]
    assert media["key_id"] == enc["key_id"] and media["playlist"] == f"/posts/{created['id']}/media/{asset_id}/playlist"

    # Play as an HLS player would: master playlist, a rendition, a segment, its key
    base = api.base + media["playlist"]
    master = api.call("GET", media["playlist"], viewer)
    assert master.status_code == 200 and master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    variants = [line for line in master.text.splitlines() if line and not line.startswith("#")]
    assert variants == ["renditions/source", "renditions/360p"] and "RESOLUTION=1280x720" in master.text
    rendition_url = urljoin(base, variants[1])
    playlist = api.call("GET", rendition_url[len(api.base):], viewer).text
    keys = re.findall(r'#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)",IV=0x([0-9a-f]{32})', playlist)
    segments = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    assert len(keys) == len(segments) == SEGMENTS
    assert urljoin(rendition_url, keys[3][0]) == api.base + key_path  # the key URI resolves to the posts API
    key = api.call("GET", key_path, viewer)
    assert (key.status_code == 200 and key.headers["Content-Type"] == "application/octet-stream"
            and len(key.content) == 16)
    sealed = fetch(segments[3])
    clear = decrypt(key.content, bytes.fromhex(keys[3][1]), sealed)
    assert clear[0] == 0x47 and clear[188] == 0x47  # MPEG-TS packets, each starting with its sync byte
    assert not (sealed[0] == 0x47 and sealed[188] == 0x47)  # stored encrypted
    segment = probe(clear)
    assert segment["format"] == "mpegts" and (segment["video"]["codec"], segment["video"]["height"]) == ("h264", 360)
    assert segment["audio"]["codec"] == "aac"

    assert api.call("GET", key_path, stranger).status_code == 403  # a second viewer without an unlock
    assert api.call("GET", key_path, creator).content == key.content
    other = api.call("GET", f"/posts/{created['id']}/keys/{'0' * 24}", viewer)
    assert (other.status_code, other.json()["error"]["code"]) == (404, "key_not_found")

    # The encode task delivered again, as Cloud Tasks would: it changes nothing
    before = asset_ref(asset_id).get().to_dict()
    again = _deliver("encode_asset", {"asset_id": asset_id, "generation": enc["generation"]})
    assert again == {"task": "encode_asset", "result": "already ready"}
    tasks.schedule("encode_asset", {"asset_id": asset_id, "generation": enc["generation"]}, at=time.time())
    settled()
    assert asset_ref(asset_id).get().to_dict() == before


def _deliver(name: str, args: dict) -> dict:
    """A task request exactly as Cloud Tasks sends it, to the stack's task target."""
    body = json.dumps(args, separators=(",", ":")).encode()
    answer = requests.post(f"{settings().tasks_worker_url}/{name}", data=body, timeout=60,
                           headers={"Content-Type": "application/json", tasks.SIGNATURE_HEADER: tasks.sign(name, body)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_image_post_is_encrypted_and_a_broken_video_fails_its_post_cleanly(api):
    creator, viewer = User.new("role:creator"), User.new()
    image = generated(["-f", "lavfi", "-i", "testsrc=size=1600x900", "-frames:v", "1"], ".png")
    image_id = uploaded(api, creator, image, "image/png")
    created = post(api, creator, [image_id], price=None)  # free: every viewer may open it
    ready = encoded(api, creator, created["id"])
    assert ready["status"] == "ready"
    (media,) = api.call("GET", f"/posts/{created['id']}", viewer).json()["media"]
    assert set(media["previews"]) == {"thumbnail", "preview"} and media["key_id"]
    assert [i["name"] for i in media["images"]] == ["image-1600.jpg", "image-1080.jpg", "image-480.jpg"]
    key = api.call("GET", f"/posts/{created['id']}/keys/{media['key_id']}", viewer).content
    for view, width in zip(media["images"], (1600, 1080, 480), strict=True):
        sealed = fetch(view["url"])
        opened = decrypt(key, bytes.fromhex(view["iv"]), sealed)
        assert opened.startswith(JPEG) and not sealed.startswith(JPEG)  # stored encrypted, opened by the key
        clear = probe(opened)
        assert (clear["video"]["codec"], clear["video"]["width"]) == ("mjpeg", width)
    assert probe(fetch(media["previews"]["preview"]))["video"]["width"] == 480

    # A video whose index is whole but whose frames are cut off: the probe passes, ffmpeg does not
    whole = generated(["-f", "lavfi", "-i", "testsrc=duration=4:size=320x240:rate=25", "-c:v", "libx264",
                       "-pix_fmt", "yuv420p", "-movflags", "+faststart"], ".mp4")
    broken_id = uploaded(api, creator, whole[: len(whole) // 2], "video/mp4")
    assert api.call("GET", f"/assets/{broken_id}", creator).json()["metadata"]["duration"] == 4.0
    broken = post(api, creator, [broken_id], price=None)
    failed = encoded(api, creator, broken["id"], timeout=60)
    assert failed["status"] == "failed" and failed["media"] == [] and failed["published"] is False
    asset = api.call("GET", f"/assets/{broken_id}", creator).json()
    assert asset["encoding"]["status"] == "failed" and "ffmpeg could not encode it" in asset["encoding"]["reason"]
    assert api.call("GET", f"/posts/{broken['id']}", viewer).status_code == 404


def test_an_encode_whose_task_was_lost_fails_its_post_on_the_maintenance_tick(api):
    from shared.assets.encoder import STALLED_QUEUED, STALLED_REASON
    from shared.assets.models import Encoding

    creator = User.new("role:creator")
    image_id = uploaded(api, creator, png(), "image/png")
    generation = asset_ref(image_id).get().get("source.generation")
    # as if its encode had been queued a day ago and its task lost before any attempt
    lost = Encoding(generation=generation, key_id="0" * 24, queued_at=time.time() - STALLED_QUEUED - 60)
    asset_ref(image_id).update({"encoding": lost.model_dump(mode="json")})
    created = post(api, creator, [image_id], price=None)  # claimed: the encode counts as queued, nothing runs it
    failed = encoded(api, creator, created["id"], timeout=30)
    assert failed["status"] == "failed" and failed["media"] == []
    enc = api.call("GET", f"/assets/{image_id}", creator).json()["encoding"]
    assert (enc["status"], enc["reason"]) == ("failed", STALLED_REASON)
