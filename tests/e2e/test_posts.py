"""Posts end to end: a creator posts uploaded assets, the assets are claimed and the post becomes
ready; viewers see the locked view until they unlock with diamonds, once; a creator's list pages
through published posts; repeated deliveries change nothing."""
from __future__ import annotations

import os
import time

import pytest
import requests

from google.cloud.firestore_v1.base_query import FieldFilter

from shared.core import signals, tasks
from shared.core.config import settings
from shared.core.firestore import db
from shared.posts.service import post_ref
from tests.e2e.test_assets import decrypt, png, probe, put, settled, start
from tests.e2e.test_show_funding import marker
from tests.e2e.test_tickets import provision
from tests.support import User, wait_until

pytestmark = pytest.mark.stack


def uploaded_image(api, creator, thumbnail: bool = True) -> str:
    started = start(api, creator)
    put(started["upload"], png())
    asset_id = started["asset"]["id"]
    if thumbnail:
        made = api.call("POST", f"/assets/{asset_id}/artifacts", creator,
                        json={"label": "thumbnail", "content_type": "image/png", "size": len(png())}).json()
        put(made["upload"], png())
        settled(api, creator, asset_id, lambda a: a["artifacts"][made["artifact"]["id"]]["metadata"])
    settled(api, creator, asset_id, lambda a: a["metadata"])
    return asset_id


def post(api, creator, assets: list[str], price: int | None = 50, **extra) -> dict:
    body = {"assets": assets, "caption": {"text": "hello"},
            "pricing": {"kind": "paid" if price else "free"},
            "cost": [{"_cls": "Diamond", "amount": price}] if price else [], **extra}
    answer = api.call("POST", "/posts", creator, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def ready(api, creator, post_id: str) -> dict:
    return wait_until(lambda: (p := api.call("GET", f"/posts/{post_id}", creator).json())["status"] == "ready" and p,
                      timeout=20, what=f"post {post_id} to be ready")


def test_a_paid_post_is_locked_until_unlocked_once(api):
    creator, viewer, other = User.new("role:creator"), User.new(), User.new()
    created = post(api, creator, [uploaded_image(api, creator)])
    assert created["status"] == "processing"
    mine = ready(api, creator, created["id"])
    assert mine["locked"] is False and mine["media"][0]["key_id"] and mine["media"][0]["images"]

    locked = api.call("GET", f"/posts/{created['id']}", viewer).json()
    assert locked["locked"] is True and locked["cost"] == [{"_cls": "Diamond", "amount": 50}]
    assert locked["media"][0]["key_id"] is None and locked["media"][0]["images"] is None
    assert requests.get(locked["thumbnail_url"], timeout=10).content == png()  # the uploaded thumbnail, copied
    broke = api.call("POST", f"/posts/{created['id']}/unlock", viewer, json={"cost": "Diamond"})
    assert (broke.status_code, broke.json()["error"]["code"]) == (409, "insufficient_funds")
    provision(api, viewer, 100)
    first = api.call("POST", f"/posts/{created['id']}/unlock", viewer, json={"cost": "Diamond"},
                     headers={"Idempotency-Key": "a"})
    again = api.call("POST", f"/posts/{created['id']}/unlock", viewer, json={"cost": "Diamond"},
                     headers={"Idempotency-Key": "b"})
    assert first.status_code == 201 and again.json() == first.json()
    fee = 50 * settings().platform_share_percent // 100
    assert api.call("GET", "/wallet", viewer).json()["balance"] == 50
    assert api.call("GET", "/wallet", creator).json()["earnings"] == 50 - fee
    unlocked = api.call("GET", f"/posts/{created['id']}", viewer).json()
    (image,) = unlocked["media"][0]["images"]  # the 64 px source's own size: one rendition
    key = api.call("GET", f"/posts/{created['id']}/keys/{unlocked['media'][0]['key_id']}", viewer).content
    clear = decrypt(key, bytes.fromhex(image["iv"]), requests.get(image["url"], timeout=10).content)
    assert probe(clear)["video"] == {"codec": "mjpeg", "width": 64, "height": 48, "frame_rate": 25.0}
    assert api.call("GET", f"/posts/{created['id']}", other).json()["locked"] is True
    own = api.call("POST", f"/posts/{created['id']}/unlock", creator, json={"cost": "Diamond"})
    assert (own.status_code, own.json()["error"]["code"]) == (409, "nothing_to_unlock")


def test_a_creator_s_published_posts_page_newest_first(api):
    creator, viewer = User.new("role:creator"), User.new()
    asset = uploaded_image(api, creator, thumbnail=False)
    first = post(api, creator, [asset], price=None)
    ready(api, creator, first["id"])
    second = post(api, creator, [asset], price=None)
    ready(api, creator, second["id"])
    later = post(api, creator, [asset], price=None, nbf=time.time() + 3600)  # publish in an hour
    ready(api, creator, later["id"])
    page = api.call("GET", f"/users/{creator.id}/posts?limit=1", viewer).json()
    assert [p["id"] for p in page["posts"]] == [second["id"]] and page["posts"][0]["locked"] is False
    rest = api.call("GET", f"/users/{creator.id}/posts?limit=1&cursor={page['next_cursor']}", viewer).json()
    assert [p["id"] for p in rest["posts"]] == [first["id"]] and rest["next_cursor"] is None
    assert api.call("GET", f"/posts/{later['id']}", viewer).status_code == 404
    assert api.call("GET", f"/posts/{later['id']}", creator).json()["published"] is False
    provision(api, viewer, 10)
    early = api.call("POST", f"/posts/{later['id']}/unlock", viewer, json={"cost": "Diamond"})
    assert (early.status_code, early.json()["error"]["code"]) == (409, "post_not_published")


def test_bad_posts_are_refused_and_change_nothing(api):
    creator, stranger = User.new("role:creator"), User.new("role:creator")
    asset = uploaded_image(api, creator, thumbnail=False)
    cases = [
        (stranger, {"assets": [asset], "caption": {"text": "x"}, "pricing": {"kind": "free"}}, 403),
        (creator, {"assets": [asset], "caption": {"text": "x"}, "pricing": {"kind": "paid"}}, 400),
        (creator, {"assets": [asset], "caption": {"text": "x"}, "pricing": {"kind": "free"},
                   "cost": [{"_cls": "Diamond", "amount": 5}]}, 400),
        (creator, {"assets": [asset, asset], "caption": {"text": "x"}, "pricing": {"kind": "free"}}, 400),
        (creator, {"assets": [], "caption": {"text": "x"}, "pricing": {"kind": "free"}}, 400),
        (creator, {"assets": ["0" * 24], "caption": {"text": "x"}, "pricing": {"kind": "free"}}, 404),
        (User.new(), {"assets": [asset], "caption": {"text": "x"}, "pricing": {"kind": "free"}}, 403),
    ]
    for user, body, status in cases:
        answer = api.call("POST", "/posts", user, json=body)
        assert answer.status_code == status and answer.json()["error"]["code"], (body, answer.text)
    assert not list(db().collection("posts").where(filter=FieldFilter("user_id", "==", creator.id)).stream())


def test_post_and_asset_signals_and_tasks_delivered_twice_change_nothing_more(api):
    creator = User.new("role:creator")
    asset = uploaded_image(api, creator, thumbnail=False)
    created = post(api, creator, [asset])
    before = ready(api, creator, created["id"])
    claimed = f"update_message_asset_metadata@asset.claimed:{asset}:{created['id']}"
    wait_until(lambda: marker(claimed).get("flushed_at"), what="the first delivery")
    signals.publish("post.created", {"post_id": created["id"], "user_id": creator.id})
    signals.publish("asset.claimed", {"asset_id": asset, "post_id": created["id"]})
    tasks.schedule("claim_asset", {"asset_id": asset, "post_id": created["id"]}, at=time.time())
    stored = post_ref(created["id"]).get().to_dict()
    wait_until(lambda: marker(claimed).get("repeats", 0) >= 1
               and marker(f"claim_post_assets@post.created:{created['id']}").get("repeats", 0) >= 1
               and marker(f"claim_asset:{asset}:{created['id']}").get("repeats", 0) >= 1, what="the repeats")
    time.sleep(1)
    assert post_ref(created["id"]).get().to_dict() == stored  # the same media view and status times
    after = api.call("GET", f"/posts/{created['id']}", creator).json()
    assert {k: v for k, v in after.items() if k not in ("media", "thumbnail_url")} == {
        k: v for k, v in before.items() if k not in ("media", "thumbnail_url")}


def test_a_post_follows_its_assets_whichever_finishes_first(api):
    creator = User.new("role:creator")
    image = start(api, creator)
    put(image["upload"], png())
    settled(api, creator, image["asset"]["id"], lambda a: a["source"])
    quick = post(api, creator, [image["asset"]["id"]])  # likely before the probe is done: it follows it
    assert ready(api, creator, quick["id"])["media"][0]["metadata"]["video"]["codec"] == "png"

    corrupt = os.urandom(3000)
    video = start(api, creator, "video/mp4", len(corrupt))
    put(video["upload"], corrupt)
    settled(api, creator, video["asset"]["id"], lambda a: a["source"])
    answer = api.call("POST", "/posts", creator, json={
        "assets": [image["asset"]["id"], video["asset"]["id"]], "caption": {"text": "x"}, "pricing": {"kind": "free"}})
    if answer.status_code == 409:  # the probe failed the asset before the post was asked for
        assert answer.json()["error"]["code"] == "asset_not_uploaded"
    else:
        assert answer.status_code == 201, answer.text
        failed = wait_until(lambda: (p := api.call("GET", f"/posts/{answer.json()['id']}", creator).json())["status"]
                            == "failed" and p, what="the post to fail with its asset")
        # only what is ready is listed, to its creator: never the failed video (the image may still be on its way)
        assert {m["asset_id"] for m in failed["media"]} <= {image["asset"]["id"]}
        assert failed["published"] is False
        assert api.call("GET", f"/posts/{answer.json()['id']}", User.new()).status_code == 404
