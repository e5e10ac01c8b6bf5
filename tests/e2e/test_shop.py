"""The shop end to end through the local stack and the local So-net mpay gateway, the payer's
browser played by tests/shop_support.py (the real browser's run is test_shop_browser.py): one
payment confirmation, one fulfilment, one credit, whatever the order of returns and notices."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from shared.core import signals, tasks
from shared.core.config import settings
from shared.shop.models import creator_earnings
from tests.e2e.helpers import as_user, buy, signup
from tests.shop_support import Payer, gateway_calls, set_scenario
from tests.support import User, create_funding_goal, marker, settled, start_session, wait_until

pytestmark = pytest.mark.stack


def test_a_diamond_pack_is_paid_and_credited_once(api):
    payer = Payer(api, User.new())
    checkout = payer.checkout()
    order = checkout["order"]
    assert (order["status"], order["amount"], order["product_class"]) == ("created", 150, "DiamondPackProduct")
    page = payer.to_payment_page(checkout["pay_url"])
    cookie = payer.chain[1].headers["Set-Cookie"]  # /redirect-out's answer
    assert payer.chain[1].url.startswith(f"{api.base}/redirect-out?")
    assert "redirect_session=" in cookie and "HttpOnly" in cookie and "Path=/redirect-in" in cookie
    return_url, result = payer.choose(page)
    landed = payer.return_to_shop(return_url, result)
    assert landed.status_code == 200 and landed.url.endswith(f"/redirect-in/shop-checkout-{order['id']}")
    assert "500 diamonds" in landed.text  # this browser's cookie names the order: it sees what it bought
    assert "redirect_session=" in landed.headers["Set-Cookie"] and "Max-Age=0" in landed.headers["Set-Cookie"]
    assert payer.wait_for(order["id"], "fulfilled")["fulfilment"]["diamonds"] == 500
    assert payer.balance() == 500
    # the browser posts its return again and reloads it; a stranger opens the order's page
    assert payer.return_to_shop(return_url, result).status_code == 200
    assert payer.browser.get(landed.history[0].url).status_code == 200
    stranger = requests.get(landed.url)
    assert 'id="status">fulfilled' in stranger.text and "500 diamonds" not in stranger.text
    settled()
    assert payer.balance() == 500
    assert [c["call"] for c in gateway_calls(order["id"])] == ["authOrder", "confirmOrder"]
    assert payer.browser.get(checkout["pay_url"]).url.endswith(f"shop-checkout-{order['id']}")
    order = payer.order(order["id"])
    assert set(order["times"]) == {"created", "pending", "paid", "fulfilled"}
    assert api.call("GET", "/me/orders", payer.user).json()["orders"][0]["id"] == order["id"]


def test_a_failure_result_loses_to_the_gateway_s_confirmation(api):
    payer = Payer(api, User.new())
    checkout = payer.checkout()
    order_id = checkout["order"]["id"]
    return_url, result = payer.choose(payer.to_payment_page(checkout["pay_url"]))
    for missing in ({"resultCode": ""}, {"sonetOrderNo": ""}):
        answer = payer.browser.post(return_url, data={**result, **missing}, allow_redirects=False)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "bad_result")
    # a failure result arrives first (forged, or the gateway's own mistake): the order fails ...
    payer.return_to_shop(return_url, {**result, "resultCode": "99999", "resultMesg": "declined"})
    assert payer.order(order_id)["status"] == "failed"
    # ... until the paid result, which confirmOrder backs, makes it paid after all
    payer.return_to_shop(return_url, result)
    assert payer.wait_for(order_id, "fulfilled")["times"].keys() >= {"failed", "paid"}
    assert payer.balance() == 500 and len(gateway_calls(order_id, "confirmOrder")) == 1


@pytest.mark.parametrize("notice", ["first", "twice", "concurrent"])
def test_the_paid_notice_in_any_order_credits_once(api, notice):
    payer = Payer(api, User.new())
    checkout = payer.checkout()
    order_id = checkout["order"]["id"]
    set_scenario(order_id, notice=notice, return_delay_ms=300)
    return_url, result = payer.choose(payer.to_payment_page(checkout["pay_url"]))
    with ThreadPoolExecutor(3) as pool:  # the browser's return, posted twice at once
        landed = list(pool.map(lambda _: payer.return_to_shop(return_url, result), range(2)))
    assert all(r.status_code == 200 for r in landed)
    payer.wait_for(order_id, "fulfilled")
    wait_until(lambda: len(gateway_calls(order_id, "notice")) == {"first": 1, "twice": 2, "concurrent": 1}[notice],
               what="the paid notices")
    settled()
    assert payer.balance() == 500
    assert len(gateway_calls(order_id, "confirmOrder")) == 1
    assert marker(f"fulfill_order@order.paid:{order_id}").get("repeats", 0) == 0


def test_a_declined_payment_fails_the_order_and_credits_nothing(api):
    payer = Payer(api, User.new())
    checkout = payer.checkout()
    order_id = checkout["order"]["id"]
    landed = payer.pay(checkout["pay_url"], choice="decline")
    assert 'id="status">failed' in landed.text
    order = payer.order(order_id)
    assert order["status"] == "failed" and order["gateway"]["result_message"] == "declined by the payer"
    assert payer.balance() == 0 and not gateway_calls(order_id, "confirmOrder")


def test_an_unpaid_order_expires_and_a_late_payment_still_counts(api):
    payer = Payer(api, User.new())
    checkout = payer.checkout()
    order_id = checkout["order"]["id"]
    page = payer.to_payment_page(checkout["pay_url"])
    payer.wait_for(order_id, "expired", timeout=settings().order_ttl_seconds + 15)
    return_url, result = payer.choose(page)  # the payer paid at the gateway after all
    payer.return_to_shop(return_url, result)
    assert payer.wait_for(order_id, "fulfilled")["times"].keys() >= {"expired", "paid"}
    assert payer.balance() == 500
    assert payer.browser.get(checkout["pay_url"]).url.endswith(f"shop-checkout-{order_id}")  # not payable again


def test_forged_or_tampered_returns_are_refused_and_change_nothing(api):
    payer = Payer(api, User.new())
    checkout = payer.checkout()
    order_id = checkout["order"]["id"]
    return_url, result = payer.choose(payer.to_payment_page(checkout["pay_url"]))
    query = parse_qs(urlsplit(return_url).query)
    base = return_url.split("?")[0]
    claims = jwt.decode(query["metadata"][0], options={"verify_signature": False})
    forged = jwt.encode({**claims, "price": 1}, "not-our-secret-" * 4, algorithm="HS256",
                        headers={"kid": jwt.get_unverified_header(query["metadata"][0])["kid"]})
    answer = payer.browser.post(f"{base}?{urlencode({'metadata': forged, 'next': query['next'][0]})}",
                                data={**result, "price": "1"}, allow_redirects=False)
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "bad_metadata")
    tampered = payer.browser.post(return_url, data={**result, "price": "1"}, allow_redirects=False)
    assert (tampered.status_code, tampered.json()["error"]["code"]) == (400, "payment_mismatch")
    elsewhere = payer.browser.post(f"{base}?{urlencode({'metadata': query['metadata'][0], 'next': 'https://evil.example/'})}",
                                   data=result, allow_redirects=False)
    assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (400, "bad_redirect")
    order = payer.order(order_id)
    assert order["status"] == "pending" and [f["reason"] for f in order["flags"]] == ["return_mismatch"]
    assert payer.balance() == 0 and not gateway_calls(order_id, "confirmOrder")

    for action in ("https://evil.example/paymentRule.php?icpId=x", f"{settings().sonet_url}/elsewhere.php?a=1",
                   "javascript:alert(1)"):
        page = payer.browser.get(f"{api.base}/tools/POST.html?{urlencode({'action': action})}")
        assert (page.status_code, page.json()["error"]["code"]) == (400, "bad_action"), action
    out = payer.browser.get(f"{api.base}/redirect-out?" + urlencode(
        {"session": f"shop-checkout-sonet-{order_id}", "next": "https://evil.example/", "resume": return_url}),
        allow_redirects=False)
    assert (out.status_code, out.json()["error"]["code"]) == (400, "bad_redirect")
    bad_link = payer.browser.get(checkout["pay_url"].replace("sig=", "sig=0"), allow_redirects=False)
    assert bad_link.status_code == 403

    payer.return_to_shop(return_url, result)  # the genuine return still goes through
    payer.wait_for(order_id, "fulfilled")
    assert payer.balance() == 500


def test_a_confirmation_the_gateway_fails_is_retried(api):
    payer = Payer(api, User.new())
    quick, timed_out, slow = payer.checkout(), payer.checkout(), payer.checkout()
    set_scenario(quick["order"]["id"], confirm_failures=1)  # retried within the request
    set_scenario(timed_out["order"]["id"], confirm_timeouts=1)  # the client gives up on the first answer
    set_scenario(slow["order"]["id"], confirm_failures=4)  # left to the confirm_payment task
    with ThreadPoolExecutor(3) as pool:  # three browsers of the same buyer
        list(pool.map(lambda checkout: Payer(api, payer.user).pay(checkout["pay_url"]), (quick, timed_out, slow)))
    for checkout in (quick, timed_out, slow):
        payer.wait_for(checkout["order"]["id"], "fulfilled", timeout=40)
    assert payer.balance() == 1500
    statuses = {name: [c.get("status", 200) for c in gateway_calls(checkout["order"]["id"], "confirmOrder")]
                for name, checkout in (("quick", quick), ("timed_out", timed_out), ("slow", slow))}
    assert statuses == {"quick": [503, 200], "timed_out": ["timeout", 200], "slow": [503] * 4 + [200]}


def test_a_pass_bought_admits_to_the_paid_stream(api, streamer):
    buyer = as_user(signup(api).json())
    session = start_session(api, streamer)
    assert api.call("GET", f"/streams/{session['id']}/token", buyer).status_code == 403
    payer = Payer(api, buyer)
    checkout = payer.checkout("livestream_pass_1d")  # a product from before classes: a pass by its id
    payer.pay(checkout["pay_url"])
    order = payer.wait_for(checkout["order"]["id"], "fulfilled")
    assert order["product_class"] == "PassProduct"
    item = order["fulfilment"]["backpack_item"]
    assert api.call("POST", f"/me/backpack/{item}/activate", buyer).status_code == 200
    token = api.call("GET", f"/streams/{session['id']}/token", buyer)
    assert token.status_code == 200 and token.json()["because"] == "pass"

    admin = User.new("role:admin")
    refund = api.call("POST", f"/admin/orders/{order['id']}/refund", admin)
    assert refund.status_code == 200, refund.text
    assert refund.json()["revoked_item"] == item and refund.json()["order"]["status"] == "refunded"
    backpack = api.call("GET", "/me/backpack", buyer).json()["items"]
    assert [i["status"] for i in backpack if i["id"] == item] == ["revoked"]
    assert api.call("GET", f"/streams/{session['id']}/token", buyer).status_code == 403


def test_a_refund_takes_back_only_unspent_diamonds(api, streamer):
    payer = Payer(api, User.new())
    checkout = payer.checkout()
    payer.pay(checkout["pay_url"])
    payer.wait_for(checkout["order"]["id"], "fulfilled")
    session = start_session(api, streamer)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    assert buy(api, payer.user, session["id"], goal["id"]).status_code == 201  # diamonds spent on a ticket
    left = payer.balance()
    assert 0 < left < 500
    admin = User.new("role:admin")
    refund = api.call("POST", f"/admin/orders/{checkout['order']['id']}/refund", admin)
    assert refund.status_code == 200, refund.text
    assert (refund.json()["taken_back"], refund.json()["already_spent"]) == (left, 500 - left)
    assert payer.balance() == 0
    again = api.call("POST", f"/admin/orders/{checkout['order']['id']}/refund", admin)
    assert again.status_code == 409 and payer.balance() == 0
    assert api.call("POST", f"/admin/orders/{checkout['order']['id']}/refund", payer.user).status_code == 403


def test_signals_and_tasks_delivered_twice_change_nothing_more(api):
    payer = Payer(api, User.new())
    checkout = payer.checkout()
    order_id, user_id = checkout["order"]["id"], payer.user.id
    payer.pay(checkout["pay_url"])
    payer.wait_for(order_id, "fulfilled")
    wait_until(lambda: marker(f"ensure_wallet_and_bank@order.created:{order_id}").get("flushed_at"),
               what="the first delivery")
    signals.publish("order.created", {"order_id": order_id, "user_id": user_id})
    signals.publish("order.paid", {"order_id": order_id, "user_id": user_id})
    tasks.schedule("provision_wallet_and_bank_account", {"user_id": user_id}, at=time.time())
    tasks.schedule("expire_order", {"order_id": order_id}, at=time.time())
    number = payer.order(order_id)["gateway"]["sonet_order_no"]
    tasks.schedule("confirm_payment", {"order_id": order_id, "sonet_order_no": number}, at=time.time())
    wait_until(lambda: marker(f"ensure_wallet_and_bank@order.created:{order_id}").get("repeats", 0) >= 1
               and marker(f"fulfill_order@order.paid:{order_id}").get("repeats", 0) >= 1, what="the repeats")
    settled()
    assert payer.balance() == 500 and payer.order(order_id)["status"] == "fulfilled"
    assert len(gateway_calls(order_id, "confirmOrder")) == 1  # the repeated confirmation found it paid


def test_bad_checkouts_are_refused_and_change_nothing(api):
    payer = Payer(api, User.new())
    for body, status in (({"product_id": "nope", "gateway": "sonet", "mp_id": "GASH_GPAY"}, 404),
                         ({"product_id": "diamond_150", "gateway": "paypal", "mp_id": "GASH_GPAY"}, 400),
                         ({"product_id": "diamond_150", "gateway": "sonet", "mp_id": "bad id!"}, 400),
                         ({"product_id": "diamond_150", "gateway": "sonet", "mp_id": "X", "price": 1}, 400)):
        answer = api.call("POST", "/shop/checkout", payer.user, json=body)
        assert answer.status_code == status and answer.json()["error"]["code"], (body, answer.text)
    assert api.call("GET", "/me/orders", payer.user).json()["orders"] == []
    other = Payer(api, User.new()).checkout()
    assert api.call("GET", f"/shop/orders/{other['order']['id']}", payer.user).status_code == 403
    body = json.dumps({"product_id": "diamond_150", "gateway": "sonet", "mp_id": "GASH_GPAY"})
    first = api.call("POST", "/shop/checkout", payer.user, data=body,
                     headers={"Idempotency-Key": "k1", "Content-Type": "application/json"})
    again = api.call("POST", "/shop/checkout", payer.user, data=body,
                     headers={"Idempotency-Key": "k1", "Content-Type": "application/json"})
    assert first.json()["order"]["id"] == again.json()["order"]["id"]
    assert len(api.call("GET", "/me/orders", payer.user).json()["orders"]) == 1


def test_a_creator_sells_a_product_and_earns_from_it(api):
    creator = User.new("role:creator")
    made = api.call("POST", "/me/products", creator, json={"name": "Signed photo", "price": 300})
    assert made.status_code == 201, made.text
    product = made.json()
    earned = creator_earnings(300, settings().platform_share_percent)
    assert product["creator_diamonds"] == earned < 500 * 300 // 150  # less than the diamonds NT$300 buys
    assert api.call("POST", "/me/products", creator,
                    json={"name": "x", "price": 1, "creator_diamonds": 10**7}).status_code == 400
    assert api.call("POST", "/me/products", User.new(), json={"name": "x", "price": 1}).status_code == 403
    assert Payer(api, creator).api.call("POST", "/shop/checkout", creator, json={
        "product_id": product["id"], "gateway": "sonet", "mp_id": "GASH_GPAY"}).status_code == 409
    payer = Payer(api, User.new())
    checkout = payer.checkout(product["id"])
    payer.pay(checkout["pay_url"])
    order = payer.wait_for(checkout["order"]["id"], "fulfilled")
    assert api.call("GET", "/wallet", creator).json()["earnings"] == earned
    items = api.call("GET", "/me/backpack", payer.user).json()["items"]
    assert [(i["type"], i["product_id"]) for i in items] == [("user_product", product["id"])]
    assert order["fulfilment"]["backpack_item"] == items[0]["id"]
