"""What handlers read (headers, cookies, raw and form bodies) and answer (text, HTML, redirects,
cookies), through serve() and a flask request as functions-framework gives it."""
from __future__ import annotations

import re

import flask
import pytest
from pydantic import BaseModel, ConfigDict, Field

from shared import app
from shared.core import logs
from shared.core.http import Cookie, Html, Redirect, Response, Text, handle, serve
from shared.core.registry import REGISTRY

app.load()
FLASK = flask.Flask(__name__)
FORM = "application/x-www-form-urlencoded"


class ChannelAuth(BaseModel):  # the shape of Pusher's (batch) channel authorization form
    model_config = ConfigDict(extra="forbid")

    socket_id: str
    first: str = Field(alias="channel_name[0]")
    second: str | None = Field(default=None, alias="channel_name[1]")
    tags: list[str] = []


@pytest.fixture
def temp_route():
    before = list(REGISTRY.routes)
    yield REGISTRY.route
    REGISTRY.routes[:] = before


def served(method, path, **kwargs):
    with FLASK.test_request_context(path, method=method, **kwargs):
        return serve(flask.request, "meta")


def test_handlers_read_headers_case_insensitively_cookies_and_the_raw_body(temp_route):
    @temp_route("POST", "/echo-test", surface="meta", public=True)
    def echo(call):
        return {"agent": call.headers["x-client"], "also": call.headers.get("X-CLIENT"),
                "cookies": call.cookies, "raw": call.raw_body.decode()}

    response = served("POST", "/echo-test", data=b'{"a": 1}', content_type="application/json",
                      headers={"X-Client": "phone", "Cookie": "sid=abc; theme=dark"})
    assert response.status_code == 200 and response.json == {
        "agent": "phone", "also": "phone", "cookies": {"sid": "abc", "theme": "dark"}, "raw": '{"a": 1}'}


def test_form_routes_parse_forms_into_their_model_with_keys_as_sent(temp_route):
    @temp_route("POST", "/form-test", surface="meta", public=True, form=ChannelAuth)
    def channel_auth(call):
        return call.body.model_dump()

    body = "socket_id=123.456&channel_name%5B0%5D=private-a&channel_name[1]=presence-b&tags=x&tags=y"
    assert handle("POST", "/form-test", {"Content-Type": FORM}, {}, body.encode()) == (200, {
        "socket_id": "123.456", "first": "private-a", "second": "presence-b", "tags": ["x", "y"]})
    status, body = handle("POST", "/form-test", {"Content-Type": FORM + "; charset=UTF-8"}, {}, b"socket_id=1")
    assert status == 400 and body["error"]["details"][0]["loc"] == ["body", "channel_name[0]"]
    status, body = handle("POST", "/form-test", {"Content-Type": "application/json"}, {}, b'{"socket_id": "1"}')
    assert (status, body["error"]["details"]) == (415, {"expected": FORM})
    status, body = handle("POST", "/form-test", {"Content-Type": FORM}, {}, b"socket_id=%ff")
    assert (status, body["error"]["message"]) == (400, "the body is not valid form data")


def test_raw_routes_get_the_body_unparsed_whatever_its_type(temp_route):
    @temp_route("POST", "/callback-test", surface="meta", public=True, raw=True)
    def callback(call):
        assert call.body == call.raw_body
        return Text("OK" if call.raw_body == b"amount=10&sig=\xff" else "NO")

    status, response = handle("POST", "/callback-test", {"Content-Type": "text/plain"}, {}, b"amount=10&sig=\xff")
    assert (status, response.body) == (200, "OK")


def test_handlers_answer_text_html_and_redirects_with_cookies(temp_route):
    temp_route("GET", "/text-test", surface="meta", public=True)(lambda call: Text("OK", headers={"X-Kind": "t"}))
    temp_route("GET", "/html-test", surface="meta", public=True)(lambda call: Html("<p>hi</p>", status=201))
    temp_route("GET", "/go-test", surface="meta", public=True)(lambda call: Redirect(
        "https://example.com/done?x=1", 303, cookies=[Cookie("sid", "abc", max_age=600), Cookie("old", "", max_age=0)]))

    text = served("GET", "/text-test")
    assert (text.status_code, text.mimetype, text.get_data(), text.headers["X-Kind"]) == (200, "text/plain", b"OK", "t")
    assert text.mimetype_params == {"charset": "utf-8"}
    html = served("GET", "/html-test")
    assert (html.status_code, html.mimetype, html.get_data()) == (201, "text/html", b"<p>hi</p>")
    go = served("GET", "/go-test")
    assert (go.status_code, go.headers["Location"]) == (303, "https://example.com/done?x=1")
    sid, old = go.headers.getlist("Set-Cookie")
    assert sid.startswith("sid=abc;") and {"Secure", "HttpOnly", "Max-Age=600", "Path=/", "SameSite=Lax"} <= {
        part.strip() for part in sid.split(";")}
    assert "Max-Age=0" in old


def test_redirects_refuse_other_statuses_and_line_breaks():
    assert Redirect("/next").status == 302
    with pytest.raises(ValueError):
        Redirect("/next", 200)
    with pytest.raises(ValueError):
        Redirect("/next\r\nSet-Cookie: x=1")


def test_serve_answers_json_errors_and_the_size_cap_through_flask():
    missing = served("GET", "/nowhere-test")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    big = served("POST", "/sessions", data=b"x" * (64 * 1024 + 1), content_type="application/json")
    assert big.status_code == 413 and big.mimetype == "application/json"
    not_allowed = served("PUT", "/healthz")
    assert not_allowed.status_code == 405 and not_allowed.headers["Allow"] == "GET"


def test_serve_binds_the_trace_method_and_path_to_the_logs_of_the_request(temp_route):
    temp_route("GET", "/fields-test", surface="meta", public=True)(lambda call: logs.fields())

    given = served("GET", "/fields-test", headers={"X-Cloud-Trace-Context": "105445AA7843BC8BF206B12000100000/1;o=1"})
    assert given.json == {"trace": "105445aa7843bc8bf206b12000100000", "method": "GET", "path": "/fields-test"}
    fresh = served("GET", "/fields-test").json["trace"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh) and fresh != served("GET", "/fields-test").json["trace"]
    assert logs.fields() == {}


def test_a_handler_response_is_a_plain_value():
    assert Response().status == 200 and Text("x").content_type == "text/plain; charset=utf-8"
