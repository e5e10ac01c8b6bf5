"""Posts end to end: a creator posts uploaded assets, the assets are claimed and the post becomes
ready; viewers see the locked view until they unlock it once, with diamonds, another currency of
the ledger or a voucher from their backpack; a creator's list pages through published posts;
repeated deliveries change nothing."""
from __future__ import annotations

import os
import time

import pytest
import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from shared.core import signals, tasks
from shared.core.config import settings
from shared.core.firestore import db
from shared.ledger import book
from shared.ledger import service as ledger
from shared.ledger.models import CURRENCIES, revenue
from shared.posts.service import post_ref, unlock_ref
from tests.e2e.helpers import (
    asset_when,
    decrypt,
    member,
    png,
    post,
    probe,
    provision,
    provision_in,
    purse,
    put,
    ready,
    start,
    uploaded_image,
)
from tests.support import User, marker, settled, wait_until

pytestmark = pytest.mark.stack


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
    settled()
    assert post_ref(created["id"]).get().to_dict() == stored  # the same media view and status times
    after = api.call("GET", f"/posts/{created['id']}", creator).json()
    assert {k: v for k, v in after.items() if k not in ("media", "thumbnail_url")} == {
        k: v for k, v in before.items() if k not in ("media", "thumbnail_url")}


def test_a_post_follows_its_assets_whichever_finishes_first(api):
    creator = User.new("role:creator")
    image = start(api, creator)
    put(image["upload"], png())
    asset_when(api, creator, image["asset"]["id"], lambda a: a["source"])
    quick = post(api, creator, [image["asset"]["id"]])  # likely before the probe is done: it follows it
    assert ready(api, creator, quick["id"])["media"][0]["metadata"]["video"]["codec"] == "png"

    corrupt = os.urandom(3000)
    video = start(api, creator, "video/mp4", len(corrupt))
    put(video["upload"], corrupt)
    asset_when(api, creator, video["asset"]["id"], lambda a: a["source"])
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


# --- the other costs: the ledger's other currencies and vouchers ---------------------------------


def unlock(api, viewer: User, post_id: str, cost: str, key: str | None = None):
    return api.call("POST", f"/posts/{post_id}/unlock", viewer, json={"cost": cost},
                    headers={"Idempotency-Key": key} if key else {})


def costly_post(api, creator: User, costs: list[dict]) -> str:
    body = {"assets": [uploaded_image(api, creator, thumbnail=False)], "caption": {"text": "several ways in"},
            "pricing": {"kind": "paid"}, "cost": costs}
    answer = api.call("POST", "/posts", creator, json=body)
    assert answer.status_code == 201, answer.text
    ready(api, creator, answer.json()["id"])
    return answer.json()["id"]


def grant_voucher(api, admin: User, user: User, creator_id: str | None = None, key: str | None = None) -> dict:
    answer = api.call("POST", f"/admin/users/{user.id}/vouchers", admin,
                      json={} if creator_id is None else {"creator_id": creator_id},
                      headers={"Idempotency-Key": key} if key else {})
    assert answer.status_code == 201, answer.text
    return answer.json()


def backpack(api, user: User) -> dict[str, dict]:
    return {item["id"]: item for item in api.call("GET", "/me/backpack", user).json()["items"]}


def test_a_post_with_several_costs_is_unlocked_with_points_or_rainbow_diamonds(api):
    creator, by_points, by_rainbow, broke = User.new("role:creator"), User.new(), User.new(), User.new()
    costs = [{"_cls": "Diamond", "amount": 50}, {"_cls": "MessagingDiamonds", "amount": 40},
             {"_cls": "Points", "amount": 500}, {"_cls": "RainbowDiamonds", "amount": 7}]
    post_id = costly_post(api, creator, costs)
    assert api.call("GET", f"/posts/{post_id}", by_points).json()["cost"] == costs
    provision_in(api, by_points, 600, "point")
    provision(api, by_points, 20)  # diamonds too, below the diamond price: never touched
    provision_in(api, by_rainbow, 10, "rainbow_diamond")
    provision_in(api, broke, 6, "rainbow_diamond")
    share = settings().platform_share_percent
    point_fee, rainbow_fee = 500 * share // 100, 7 * share // 100
    revenue_before = {c: ledger.balance(revenue(c)) for c in CURRENCIES if c != "diamond"}

    short = unlock(api, broke, post_id, "RainbowDiamonds")
    assert (short.status_code, short.json()["error"]["code"]) == (409, "insufficient_funds")
    assert short.json()["error"]["details"]["currency"] == "rainbow_diamond"
    assert purse(api, broke, "rainbow_diamond") == (6, 0) and not unlock_ref(post_id, broke.id).get().exists

    paid = unlock(api, by_points, post_id, "Points", key="points")
    assert paid.status_code == 201, paid.text
    assert {k: paid.json()[k] for k in ("_cls", "amount", "transfer_id", "voucher_id")} == {
        "_cls": "PointsUnlock", "amount": 500, "transfer_id": f"unlock:{post_id}:{by_points.id}", "voucher_id": None}
    rainbow = unlock(api, by_rainbow, post_id, "RainbowDiamonds")
    assert rainbow.status_code == 201 and rainbow.json()["_cls"] == "RainbowDiamondUnlock", rainbow.text
    # asked again, with any cost: the first unlock, nothing moves
    assert unlock(api, by_points, post_id, "Diamond", key="diamonds").json() == paid.json()
    assert unlock(api, by_points, post_id, "Points", key="points").json() == paid.json()  # a replay
    assert unlock(api, by_rainbow, post_id, "RainbowDiamonds").json() == rainbow.json()

    assert purse(api, by_points, "point") == (100, 0) and purse(api, by_points, "diamond") == (20, 0)
    assert purse(api, by_rainbow, "rainbow_diamond") == (3, 0)
    assert purse(api, creator, "point") == (0, 500 - point_fee)
    assert purse(api, creator, "rainbow_diamond") == (0, 7 - rainbow_fee)
    assert purse(api, creator, "diamond") == (0, 0) and purse(api, creator, "messaging_diamond") == (0, 0)
    others = [c for c in CURRENCIES if c != "diamond"]  # diamond revenue also grows from other tests' payouts
    gained = {c: ledger.balance(revenue(c)) - revenue_before[c] for c in others}
    assert gained == {"messaging_diamond": 0, "point": point_fee, "rainbow_diamond": rainbow_fee}
    fee = book.load(f"unlock:{post_id}:{by_points.id}:fee")
    assert (fee.credit, fee.amount, fee.currency) == ("revenue:platform:point", point_fee, "point")
    # each wallet lists its own currency's transfers
    points_wallet = api.call("GET", "/wallet?currency=point", by_points).json()["transfers"]
    assert sorted((t["direction"], t["amount"], t["counterparty"]) for t in points_wallet) == sorted(
        [("in", 600, "issuance"), ("out", 500 - point_fee, "earnings"), ("out", point_fee, "revenue")])
    assert [t["amount"] for t in api.call("GET", "/wallet", by_points).json()["transfers"]] == [20]

    for viewer in (by_points, by_rainbow):
        assert api.call("GET", f"/posts/{post_id}", viewer).json()["locked"] is False
    assert api.call("GET", f"/posts/{post_id}", broke).json()["locked"] is True
    bad = api.call("GET", "/wallet?currency=gold", by_points)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "validation_error")
    totals = api.call("GET", "/admin/ledger", User.new("role:admin")).json()
    assert totals["balanced"] is True and totals["negative_wallets"] == 0
    for currency in CURRENCIES:
        mine = totals["currencies"][currency]
        assert mine["balanced"] is True and mine["negative_wallets"] == 0, (currency, mine)
        assert mine["totals"]["issuance"] == -sum(v for k, v in mine["totals"].items() if k != "issuance")
    assert totals["currencies"]["point"]["totals"]["revenue"] >= point_fee
    assert totals["totals"] == totals["currencies"]["diamond"]["totals"]


def test_a_voucher_unlocks_a_post_once_and_only_for_its_creator(api):
    creator, admin, elsewhere = User.new("role:creator"), User.new("role:admin"), User.new("role:creator")
    viewer, picky, stranger = member(api), member(api), User.new()
    post_id = costly_post(api, creator, [{"_cls": "Diamond", "amount": 30}, {"_cls": "Voucher"}])
    assert api.call("POST", f"/admin/users/{viewer.id}/vouchers", viewer, json={}).status_code == 403
    missing = api.call("POST", f"/admin/users/{stranger.id}/vouchers", admin, json={})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "user_not_found")
    bound_elsewhere = grant_voucher(api, admin, viewer, elsewhere.id, key="elsewhere")
    assert grant_voucher(api, admin, viewer, elsewhere.id, key="elsewhere") == bound_elsewhere  # a replay
    anyone = grant_voucher(api, admin, viewer)
    assert (bound_elsewhere["type"], bound_elsewhere["creator_id"], anyone["creator_id"]) == (
        "post_voucher", elsewhere.id, None)
    assert set(backpack(api, viewer)) == {bound_elsewhere["id"], anyone["id"]}  # two, not three
    refused = api.call("POST", f"/me/backpack/{anyone['id']}/activate", viewer)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "voucher_not_activatable")

    first = unlock(api, viewer, post_id, "Voucher", key="v1")
    assert first.status_code == 201, first.text
    assert {k: first.json()[k] for k in ("_cls", "amount", "transfer_id", "voucher_id")} == {
        "_cls": "VoucherUnlock", "amount": 0, "transfer_id": None, "voucher_id": anyone["id"]}
    items = backpack(api, viewer)
    assert (items[anyone["id"]]["status"], items[anyone["id"]]["used_for"]) == ("used", post_id)
    assert items[anyone["id"]]["used_at"] >= first.json()["at"] - 1
    assert items[bound_elsewhere["id"]]["status"] == "available"  # bound to another creator: not used
    assert api.call("GET", f"/posts/{post_id}", viewer).json()["locked"] is False
    # asked again (another key, no key, another cost): the same unlock, no second voucher
    assert unlock(api, viewer, post_id, "Voucher", key="v2").json() == first.json()
    assert unlock(api, viewer, post_id, "Voucher").json() == first.json()
    assert unlock(api, viewer, post_id, "Diamond").json() == first.json()
    assert backpack(api, viewer) == items
    assert purse(api, creator, "diamond") == (0, 0)

    # a voucher bound to another creator does not open this post; one bound to its creator goes first
    not_here = grant_voucher(api, admin, picky, elsewhere.id)
    for viewer_without in (picky, stranger):
        none = unlock(api, viewer_without, post_id, "Voucher")
        assert (none.status_code, none.json()["error"]["code"]) == (409, "no_voucher"), none.text
        assert not unlock_ref(post_id, viewer_without.id).get().exists
    assert {i["status"] for i in backpack(api, picky).values()} == {"available"}
    spare, own = grant_voucher(api, admin, picky), grant_voucher(api, admin, picky, creator.id)
    used = unlock(api, picky, post_id, "Voucher")
    assert used.status_code == 201 and used.json()["voucher_id"] == own["id"], used.text
    assert {i["id"]: i["status"] for i in backpack(api, picky).values()} == {
        own["id"]: "used", spare["id"]: "available", not_here["id"]: "available"}


def test_bad_costs_are_refused_and_change_nothing(api):
    creator, viewer, admin = User.new("role:creator"), member(api), User.new("role:admin")
    post_id = costly_post(api, creator, [{"_cls": "Diamond", "amount": 30}])
    provision(api, viewer, 100)
    provision_in(api, viewer, 100, "point")
    voucher = grant_voucher(api, admin, viewer)
    before = {c: purse(api, viewer, c) for c in CURRENCIES}
    for cost in ("Gold", "DiamondUnlock", "", None, 5):
        answer = api.call("POST", f"/posts/{post_id}/unlock", viewer, json={"cost": cost})
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "validation_error"), cost
    for cost in ("Points", "Voucher", "RainbowDiamonds", "MessagingDiamonds"):  # not this post's costs
        answer = unlock(api, viewer, post_id, cost)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "validation_error"), cost
        assert answer.json()["error"]["details"][0]["loc"] == ["body", "cost"]
    extra = api.call("POST", f"/posts/{post_id}/unlock", viewer, json={"cost": "Points", "amount": 1})
    assert extra.status_code == 400
    for body in ({"amount": 5, "currency": "gold"}, {"amount": 5, "currency": "Diamond"}):
        answer = api.call("POST", f"/admin/users/{viewer.id}/diamonds", admin, json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "validation_error"), body
    assert {c: purse(api, viewer, c) for c in CURRENCIES} == before
    assert backpack(api, viewer)[voucher["id"]]["status"] == "available"
    assert not unlock_ref(post_id, viewer.id).get().exists
    assert api.call("GET", f"/posts/{post_id}", viewer).json()["locked"] is True

    asset = uploaded_image(api, creator, thumbnail=False)
    for costs in ([{"_cls": "Gold", "amount": 5}], [{"_cls": "Voucher", "amount": 5}], [{"_cls": "Points"}],
                  [{"_cls": "Points", "amount": 0}], [{"_cls": "Points", "amount": 1}, {"_cls": "Points", "amount": 2}],
                  [{"_cls": "Voucher"}, {"_cls": "Voucher"}]):
        answer = api.call("POST", "/posts", creator, json={"assets": [asset], "caption": {"text": "x"},
                                                           "pricing": {"kind": "paid"}, "cost": costs})
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "validation_error"), costs
    mine = db().collection("posts").where(filter=FieldFilter("user_id", "==", creator.id)).stream()
    assert [snap.id for snap in mine] == [post_id]
