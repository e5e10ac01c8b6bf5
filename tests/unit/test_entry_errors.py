"""Errors answered before our adapter runs are JSON too: flask's (inside functions-framework's
app for each entry point) and the local host's HTTP server's own (a request line or header too long)."""
from __future__ import annotations

import json
import socket
import threading

import pytest
from functions_framework import create_app
from werkzeug.serving import make_server

from shared.core import ids
from shared.localstack.serving import RequestHandler
from tests.stack import ROOT


@pytest.fixture(scope="module")
def goals():
    return create_app("goals_api", str(ROOT / "functions" / "api.py"), "http").test_client()


def error(response, status):
    assert response.status_code == status and response.mimetype == "application/json", response.get_data()
    body = response.get_json()["error"]
    assert set(body) == {"code", "message", "details"} and body["message"]
    return body


def test_a_path_flask_refuses_is_a_json_404(goals):
    assert error(goals.get("/goals/%0A" + "a" * 23), 404)["code"] == "not_found"  # the decoded path has a newline
    assert error(goals.get("/robots.txt"), 404)["code"] == "not_found"


def test_our_errors_pass_through_the_app_with_their_headers(goals):
    response = goals.patch("/goals/" + ids.new_id(), headers={"Authorization": "Bearer x"})
    assert error(response, 405)["details"] == {"allowed": ["DELETE", "GET"]}
    assert response.headers["Allow"] == "DELETE, GET"


def test_a_crash_in_the_task_handler_is_a_json_500_without_internals(monkeypatch):
    from shared.core import delivery

    def crash(*args):
        raise RuntimeError("secret internals")

    client = create_app("task_handler", str(ROOT / "functions" / "tasks.py"), "http").test_client()
    monkeypatch.setattr(delivery, "run_task", crash)
    response = client.post("/deactivate_goal", data=b"{}")
    body = error(response, 500)
    assert body["code"] == "internal" and "secret" not in response.get_data(as_text=True)
    assert error(client.post("/deactivate_goal/%0Ax"), 404)["code"] == "not_found"  # never reaches the handler


@pytest.fixture(scope="module")
def server():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    srv = make_server("127.0.0.1", 0, app, threaded=True, request_handler=RequestHandler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv.server_port
    srv.shutdown()
    thread.join(5)


def raw_request(port: int, data: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("request_bytes, status, code", [
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "request_uri_too_long"),
    (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "request_header_fields_too_large"),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n", 431,
     "request_header_fields_too_large"),
    (b'GET /a"<&>\\\x01 b HTTP/1.1\r\n\r\n', 400, "bad_request"),  # echoed in the message: must stay valid JSON
])
def test_the_host_server_answers_its_own_errors_as_json(server, request_bytes, status, code):
    got, headers, body = raw_request(server, request_bytes)
    assert got == status and headers["content-type"] == "application/json"
    error_body = json.loads(body)["error"]
    assert error_body["code"] == code and error_body["message"] and set(error_body) == {"code", "message", "details"}


def test_the_host_server_still_serves_requests(server):
    assert raw_request(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0] == 200
