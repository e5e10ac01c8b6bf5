"""The shop's rules that need no stack: the gateway's answer format, the metadata JWT, sealed
cookies, which URLs the chain accepts, product classes and status moves."""
from __future__ import annotations

import jwt
import pytest

from shared.core import clock
from shared.core.config import settings
from shared.core.errors import Unauthorized, ValidationFailed
from shared.shop import payment, signing, sonet
from shared.shop.models import TRANSITIONS, creator_earnings, parse_product

FIELDS = {"icpId": "localicp", "icpOrderId": "6b0b7b5aba6686261c76afb5", "price": 150, "mpId": "GASH_GPAY"}


def test_the_gateway_s_answers_round_trip_and_garbage_is_a_gateway_error():
    answer = {"resultCode": "00000", "resultMesg": "success", "authCode": "abc"}
    assert sonet.parse_answer(sonet.encode_answer(answer) + "\r\n") == answer
    for text in ("", "resultCode|x\t00000", "no tab here", "a|b\t1|2"):
        with pytest.raises(sonet.GatewayError):
            sonet.parse_answer(text)


def test_metadata_is_verified_before_anything_is_read():
    token = signing.metadata_token(FIELDS, issued_at=clock.now())
    assert {k: signing.read_metadata(token)[k] for k in FIELDS} == FIELDS
    created = clock.now()
    assert signing.metadata_token(FIELDS, issued_at=created) == signing.metadata_token(FIELDS, issued_at=created)
    kid = jwt.get_unverified_header(token)["kid"]
    secret = settings().shop_secret
    forged = [
        jwt.encode({**FIELDS, "exp": int(clock.now()) + 60}, "another-secret-" * 3, algorithm="HS256",
                   headers={"kid": kid}),
        jwt.encode({**FIELDS, "exp": int(clock.now()) + 60}, secret, algorithm="HS256", headers={"kid": "0" * 8}),
        jwt.encode({**FIELDS, "exp": int(clock.now()) + 60}, secret, algorithm="HS256"),  # no kid
        # expired
        jwt.encode({**FIELDS, "exp": int(clock.now()) - 60}, secret, algorithm="HS256", headers={"kid": kid}),
        jwt.encode({"icpOrderId": "x", "exp": int(clock.now()) + 60}, secret, algorithm="HS256", headers={"kid": kid}),
        jwt.encode({**FIELDS, "exp": int(clock.now()) + 60}, None, algorithm="none", headers={"kid": kid}),
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "not a token",
    ]
    for bad in forged:
        with pytest.raises(Unauthorized):
            signing.read_metadata(bad)


def test_sealed_values_open_only_untouched():
    sealed = signing.seal("redirect", {"session": "s", "exp": 1})
    assert signing.unseal("redirect", sealed) == {"session": "s", "exp": 1}
    body, signature = sealed.split(".")
    flipped = signature[:-1] + ("1" if signature.endswith("0") else "0")
    for bad in (f"{body}x.{signature}", f"{body}.{flipped}", body, "", ".", sealed + "x"):
        assert signing.unseal("redirect", bad) is None
    assert signing.unseal("another purpose", sealed) is None


def test_the_chain_accepts_only_this_shop_and_the_gateway_s_page():
    shop = settings().shop_url
    assert payment._own(f"{shop}/notify/sonet?a=1")
    for url in ("https://evil.example/", f"{shop}.evil.example/x", f"{shop}@evil.example/", "//evil.example/",
                f"{shop}\\@evil.example/", shop, "javascript:alert(1)"):
        assert not payment._own(url), url
    page = payment.post_form(f"{sonet.payment_url()}?icpId=a&memo=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert "<script>alert" not in page.body and "&lt;script&gt;" in page.body
    assert f"form-action {settings().sonet_url}" in page.headers["Content-Security-Policy"]
    for action in ("https://evil.example/paymentRule.php", f"{settings().sonet_url}/other.php",
                   f"{sonet.payment_url()}#x", f"{sonet.payment_url().replace('http:', 'https:')}"):
        with pytest.raises(ValidationFailed):
            payment.post_form(action)


def test_products_get_their_class_from_their_id_when_they_have_none():
    assert parse_product({"id": "diamond_9", "name": "x", "price": 9, "diamonds": 30}).cls == "DiamondPackProduct"
    assert parse_product({"id": "livestream_pass_2d", "name": "x", "price": 9, "seconds": 172800}).cls == "PassProduct"
    with pytest.raises(ValueError):
        parse_product({"id": "mystery", "name": "x", "price": 9})


def test_orders_move_forward_once_and_creators_earn_less_than_a_sale_buys():
    assert "paid" not in TRANSITIONS["created"]  # authorized with the gateway first
    assert all("created" not in targets for targets in TRANSITIONS.values())
    assert TRANSITIONS["fulfilled"] == ("refunded",) and "refunded" not in TRANSITIONS
    for price in (1, 150, 29900):
        assert creator_earnings(price, 30) < price * 500 / 150
