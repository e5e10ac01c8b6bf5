"""The HTTP adapter rejects bad calls before any handler (and so any database) is reached."""
from __future__ import annotations

import io
import time

import pytest

from shared import app
from shared.core import auth, ids
from shared.core.http import handle, respond
from shared.core.registry import REGISTRY

app.load()


def call(method, path, token=None, body=b"", args=None, headers=None):
    headers = {**({"Content-Type": "application/json"} if body else {}), **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
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
    assert {("body", "levels", 0, "title"), ("body", "levels", 0, "target"), ("body", "exp"),
            ("body", "context")} <= locs


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

    now = int(time.time())
    claims = {"sub": ids.new_id(), "scope": "role:creator", "client_id": "app", "exp": now + 60, "iat": now,
              "iss": auth.issuer(), "aud": auth.audience()}
    claims.update(claims_change)
    claims = {k: v for k, v in claims.items() if v is not None}
    token = jwt.encode(claims, settings().jwt_secret, algorithm="HS256")
    assert call("POST", "/sessions", token=token)[0] == 401


# --- hardening ---------------------------------------------------------------------------------

@pytest.fixture
def temp_route():
    """REGISTRY.route for routes that exist only during one test."""
    before = list(REGISTRY.routes)
    yield REGISTRY.route
    REGISTRY.routes[:] = before


def signed(**claims):
    import jwt

    from shared.core.config import settings

    now = int(time.time())
    base = {"sub": ids.new_id(), "scope": "role:creator", "client_id": "app", "iat": now, "exp": now + 60,
            "iss": auth.issuer(), "aud": auth.audience()}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, settings().jwt_secret, algorithm="HS256")


def test_minted_tokens_carry_issuer_audience_and_issue_time():
    import jwt

    claims = jwt.decode(creator(), options={"verify_signature": False})
    assert claims["iss"] == "livestream-backend" and claims["aud"] == "livestream-api"
    assert claims["exp"] - claims["iat"] == 3600
    with pytest.raises(ValueError):
        auth.mint(ids.new_id(), [], ttl=24 * 3600 + 1)


# built when the test runs, not when it is collected: a slow run must not expire them first
@pytest.mark.parametrize("claims", [
    lambda: {"iss": None}, lambda: {"aud": None}, lambda: {"iat": None}, lambda: {"iss": "someone-else"},
    lambda: {"aud": "another-api"}, lambda: {"aud": ["another-api"]}, lambda: {"iat": "1700000000"},
    lambda: {"exp": str(int(time.time()) + 60)},
    lambda: {"iat": int(time.time()) - 3600, "exp": int(time.time()) + 24 * 3600},  # lives longer than 24 h
    lambda: {"iat": int(time.time()) + 600},  # issued in the future
])
def test_tokens_need_issuer_audience_issue_time_and_a_bounded_lifetime(claims):
    claims = claims()
    assert signed()  # the same claims otherwise make a valid token:
    assert call("POST", "/goals", token=signed(), args={"type": "show-funding"}, body=b"[]")[0] == 400
    status, body = call("POST", "/goals", token=signed(**claims), args={"type": "show-funding"}, body=b"[]")
    assert (status, body["error"]["message"]) == (401, "invalid token")


def test_the_audience_and_issuer_come_from_the_environment(monkeypatch):
    token = creator()
    monkeypatch.setenv("JWT_AUDIENCE", "another-api")
    assert call("POST", "/goals", token=token, args={"type": "show-funding"})[1]["error"]["message"] == "invalid token"
    assert call("POST", "/goals", token=creator(), args={"type": "show-funding"}, body=b"[]")[0] == 400


@pytest.mark.parametrize("token", [lambda: "garbage", lambda: "a.b.c", lambda: "eyJhbGciOiJIUzI1NiJ9.\xff\xfe.x",
                                   lambda: creator() + "x", lambda: signed(sub="not-hex"), lambda: "unsigned"])
def test_token_errors_do_not_echo_the_library(token):
    token = token()
    if token == "unsigned":
        import jwt

        token = jwt.encode(jwt.decode(signed(), options={"verify_signature": False}), None, algorithm="none")
    status, body = call("POST", "/sessions", token=token)
    assert (status, body["error"]) == (401, {"code": "unauthorized", "message": "invalid token", "details": None})


def test_missing_token_message_is_unchanged():
    assert call("POST", "/sessions")[1]["error"]["message"] == "missing bearer token"


def test_path_parameters_full_match_their_declared_format(temp_route):
    @temp_route("GET", "/gifts/products/{product_id}", surface="meta", public=True,
                params={"product_id": r"[A-Za-z0-9_-]{1,100}"})
    def product(call):
        return {"product_id": call.params["product_id"]}

    product_id = "livestream-show-ticket_134"
    assert call("GET", f"/gifts/products/{product_id}") == (200, {"product_id": product_id})
    for bad in ["livestream.show", "x" * 101, "ticket\n", "%2e%2e"]:
        status, body = call("GET", "/gifts/products/" + bad)
        assert (status, body["error"]["code"]) == (404, "not_found"), bad
    from shared.core import openapi

    (param,) = openapi.document(REGISTRY)["paths"]["/gifts/products/{product_id}"]["get"]["parameters"]
    assert param["schema"]["pattern"] == "^[A-Za-z0-9_-]{1,100}$"
    goal = openapi.document(REGISTRY)["paths"]["/goals/{goal_id}"]["get"]["parameters"][0]
    assert goal["schema"]["pattern"] == "^[0-9a-f]{24}$"


def test_an_id_with_a_trailing_newline_is_404_before_any_handler():
    status, body = call("GET", f"/goals/{ids.new_id()}\n", token=creator())
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_parameters_other_than_ids_must_declare_a_format(temp_route):
    count = len(REGISTRY.routes)
    with pytest.raises(ValueError, match=r"\{slug\} needs a format"):
        temp_route("GET", "/pages/{slug}", surface="meta", public=True)(lambda call: {})
    with pytest.raises(ValueError, match="not in the path"):
        temp_route("GET", "/pages/{page_id}", surface="meta", public=True, params={"slug": "x"})(lambda call: {})
    with pytest.raises(ValueError, match="not a valid regex"):
        temp_route("GET", "/pages/{slug}", surface="meta", public=True, params={"slug": "("})(lambda call: {})
    assert len(REGISTRY.routes) == count


def test_method_not_allowed_carries_an_allow_header():
    response = respond("PATCH", "/goals/" + ids.new_id(), {"Authorization": f"Bearer {creator()}"}, {})
    assert response.status == 405 and response.headers["Allow"] == "DELETE, GET"


def test_deeply_nested_json_is_a_clear_400():
    deep = b'{"levels": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    status, body = call("POST", "/goals", token=creator(), args={"type": "show-funding"}, body=deep)
    assert (status, body["error"]["message"]) == (400, "the body is nested too deeply")


def test_json_bodies_need_a_json_content_type():
    goal = b'{"levels": []}'
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1",
                         "application/jsonx", ""]:
        status, body = call("POST", "/goals", token=creator(), args={"type": "show-funding"}, body=goal,
                            headers={"Content-Type": content_type})
        assert (status, body["error"]["code"]) == (415, "unsupported_media_type"), content_type
    for content_type in ["application/json", "Application/JSON; charset=UTF-8", 'application/json; charset="utf-8"']:
        status, body = call("POST", "/goals", token=creator(), args={"type": "show-funding"}, body=goal,
                            headers={"Content-Type": content_type})
        assert (status, body["error"]["code"]) == (400, "validation_error"), content_type


def test_json_constants_that_are_not_json_are_refused():
    status, body = call("POST", "/goals", token=creator(), args={"type": "show-funding"}, body=b'{"exp": NaN}')
    assert (status, body["error"]["message"]) == (400, "the body is not valid JSON")


def test_a_request_without_a_body_needs_no_content_type(temp_route):
    temp_route("DELETE", "/no-body-test", surface="meta", public=True)(lambda call: {"ok": True})
    assert handle("DELETE", "/no-body-test", {}, {}, b"") == (200, {"ok": True})


def test_a_declared_body_over_the_cap_is_413_before_anything_else():
    from shared.core.http import MAX_BODY

    headers = {"Content-Length": str(MAX_BODY + 1)}
    status, body = handle("POST", "/goals", headers, {}, b"")  # no token: the size is checked first
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    assert handle("POST", "/goals", {"Content-Length": "12x"}, {}, b"")[0] == 400


def test_a_body_over_the_cap_is_413_and_read_no_further():
    from shared.core.http import MAX_BODY

    stream = io.BytesIO(b"{" + b" " * (4 * MAX_BODY))  # no Content-Length: chunked
    headers = {"Authorization": f"Bearer {creator()}", "Content-Type": "application/json"}
    status, body = handle("POST", "/goals", headers, {"type": "show-funding"}, stream)
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    assert stream.tell() == MAX_BODY + 1


def test_the_body_is_not_read_before_authentication():
    stream = io.BytesIO(b'{"levels": []}')
    status, _ = handle("POST", "/goals", {"Content-Type": "application/json"}, {"type": "show-funding"}, stream)
    assert status == 401 and stream.tell() == 0
