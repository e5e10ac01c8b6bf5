"""The HTTP adapter rejects bad calls before any handler (and so any database) is reached."""
from __future__ import annotations

import time

import pytest

from shared import app
from shared.core import auth, ids
from shared.core.http import handle
from shared.core.registry import REGISTRY

app.load()


def call(method, path, token=None, body=b"", args=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return handle(method, path, headers, args or {}, body)


def creator():
    return auth.mint(ids.new_id(), ["role:creator"])


def test_missing_and_invalid_tokens_are_401():
    assert call("POST", "/sessions")[0] == 401
    status, body = call("POST", "/sessions", token="garbage")
    assert status == 401 and body["error"]["code"] == "unauthorized"


def test_expired_token_is_401():
    from shared.core import clock

    clock.set_clock(lambda: time.time() - 7200)
    try:
        old = auth.mint(ids.new_id(), ["role:creator"], ttl=60)
    finally:
        clock.set_clock(None)
    assert call("POST", "/sessions", token=old)[1]["error"]["message"] == "token expired"


def test_a_token_without_the_scope_is_403():
    status, body = call("POST", "/goals", token=auth.mint(ids.new_id(), []), args={"type": "show-funding"})
    assert status == 403 and body["error"]["details"] == {"required": "role:creator"}


def test_malformed_ids_are_404_and_unknown_methods_405():
    assert call("GET", "/goals/123", token=creator())[0] == 404
    status, body = call("PATCH", "/goals/" + ids.new_id(), token=creator())
    assert status == 405 and body["error"]["details"] == {"allowed": ["DELETE", "GET"]}


def test_validation_errors_carry_pydantic_field_locations():
    status, body = call("POST", "/goals", token=creator(), args={"type": "show-funding"},
                        body=b'{"levels": [{"title": "", "target": -1}], "exp": "x"}')
    assert status == 400
    locs = {tuple(d["loc"]) for d in body["error"]["details"]}
    assert {("body", "levels", 0, "title"), ("body", "levels", 0, "target"), ("body", "exp"), ("body", "context")} <= locs


def test_an_unexpected_error_is_a_500_without_internals():
    @REGISTRY.route("GET", "/boom-test", surface="meta", public=True)
    def boom(call):
        raise RuntimeError("secret internals")

    try:
        status, body = call("GET", "/boom-test")
    finally:
        REGISTRY.routes.pop()
    assert status == 500 and "secret" not in str(body) and body["error"]["code"] == "internal"


@pytest.mark.parametrize("claims_change", [{"sub": "not-hex"}, {"client_id": None}])
def test_tokens_need_a_hex_sub_and_a_client_id(claims_change):
    import jwt

    from shared.core.config import settings

    claims = {"sub": ids.new_id(), "scope": "role:creator", "client_id": "app", "exp": int(time.time()) + 60}
    claims.update(claims_change)
    claims = {k: v for k, v in claims.items() if v is not None}
    token = jwt.encode(claims, settings().jwt_secret, algorithm="HS256")
    assert call("POST", "/sessions", token=token)[0] == 401
