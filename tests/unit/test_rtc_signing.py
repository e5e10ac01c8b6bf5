"""The RTC OpenAPI signature against the vendor SDK, and how the client maps the API's answers."""
from __future__ import annotations

import datetime
import hashlib
import hmac
import json

import pytest
import requests
from werkzeug.datastructures import Headers

from shared.core import config, options
from shared.core.errors import AppError
from shared.rtc import RtcError, byteplus, signing, start_snapshot, stop_snapshot

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)
AK, SK, REGION = "AKLTexampleaccesskey", "example-secret-key", "ap-singapore-1"
BODY = b'{"AppId":"app-1","RoomId":"room-1","TaskId":"task-1"}'
QUERY = {"Action": "StopSnapshot", "Version": "2022-06-01"}
BODY_SHA256 = "3ebadc48b71ff38fc8b6a15819f03ff5e718da34490e4e5885a6dd5b49cd12c5"

# Signatures computed by the vendor SDK itself: SignerV4.sign of byteplus-sdk/byteplus-sdk-python
# (byteplus_sdk/auth/SignerV4.py at 08fc25e) for this request, as its RtcService sends it (Host,
# Content-Type: application/json, X-Date fixed at NOW); volcengine-python-sdk's
# volcenginesdkcore/signv4.py gives the same two values.
VENDOR_SIGNATURES = {
    "https://open.byteplusapi.com/": "ae33fb69f635aa06a7684a9bfe6ca18ea36038fc772ea42f2d7f522d928ae220",
    "http://127.0.0.1:8129/": "fa1daeb996ea991212599a8b2680b3301c8ae35495184f48b2ba6f7d23dbf0fb",
}


def _sign(url: str, body: bytes = BODY, secret: str = SK) -> dict[str, str]:
    return signing.sign("POST", url, QUERY, body, access_key_id=AK, secret_key=secret, region=REGION, now=NOW)


@pytest.mark.parametrize("url", sorted(VENDOR_SIGNATURES))
def test_the_signature_is_the_vendor_sdks(url):
    headers = _sign(url)
    assert headers["X-Date"] == "20240501T120000Z" and headers["X-Content-Sha256"] == BODY_SHA256
    assert headers["Authorization"] == (
        f"HMAC-SHA256 Credential={AK}/20240501/{REGION}/rtc/request, "
        f"SignedHeaders=content-type;host;x-content-sha256;x-date, Signature={VENDOR_SIGNATURES[url]}"
    )
    assert headers["Host"] == url.split("/")[2] and headers["Content-Type"] == "application/json"


def test_the_signature_follows_the_documented_algorithm():
    """Recomputed from the documented steps, independently of shared.rtc.signing."""
    canonical = "\n".join([
        "POST", "/", "Action=StopSnapshot&Version=2022-06-01",
        f"content-type:application/json\nhost:open.byteplusapi.com\nx-content-sha256:{BODY_SHA256}\nx-date:20240501T120000Z\n",
        "content-type;host;x-content-sha256;x-date", hashlib.sha256(BODY).hexdigest(),
    ])
    to_sign = (f"HMAC-SHA256\n20240501T120000Z\n20240501/{REGION}/rtc/request\n"
               f"{hashlib.sha256(canonical.encode()).hexdigest()}")
    key = SK.encode()
    for part in ("20240501", REGION, "rtc", "request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    assert expected == VENDOR_SIGNATURES["https://open.byteplusapi.com/"]


def test_a_default_port_is_signed_as_the_bare_host_and_queries_are_encoded_as_the_sdk_does():
    with_port = _sign("https://open.byteplusapi.com:443/")
    assert with_port["Authorization"].endswith(VENDOR_SIGNATURES["https://open.byteplusapi.com/"])
    assert signing.canonical_query({"b": "x y+z", "a": "1/2~_.-"}) == "a=1%2F2~_.-&b=x%20y%2Bz"


def _verify(headers: dict, body: bytes = BODY, now=NOW, path="/"):
    return signing.verify("POST", path, QUERY, Headers(headers), body, secrets={AK: SK}, region=REGION, now=now)


def test_the_server_side_check_accepts_a_signed_request_and_refuses_what_the_gateway_would():
    url = "http://127.0.0.1:8129/"
    assert _verify(_sign(url)) == AK
    refusals = [
        ("SignatureDoesNotMatch", _sign(url, secret="another-secret"), BODY, NOW),
        ("SignatureDoesNotMatch", _sign(url), BODY + b" ", NOW),  # the body is not the one signed
        ("SignatureDoesNotMatch", {**_sign(url), "Host": "127.0.0.1:9999"}, BODY, NOW),
        ("InvalidAccessKey", {**_sign(url), "Authorization": _sign(url)["Authorization"].replace(AK, "AKLTother")},
         BODY, NOW),
        ("InvalidTimestamp", _sign(url), BODY, NOW + datetime.timedelta(hours=1)),
        ("MissingAuthenticationToken", {k: v for k, v in _sign(url).items() if k != "Authorization"}, BODY, NOW),
    ]
    for code, headers, body, now in refusals:
        with pytest.raises(signing.Refused) as refused:
            _verify(headers, body, now)
        assert refused.value.code == code


# --- the client's answers -------------------------------------------------------------------


class FakeResponse:
    def __init__(self, status: int, content: bytes):
        self.status_code, self.content = status, content


class FakeSession:
    def __init__(self, answer):
        self.answer, self.sent = answer, []

    def post(self, url, data, headers, timeout):
        self.sent.append({"url": url, "data": data, "headers": headers})
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def answer(monkeypatch):
    """Make the client's next request get `answer` (a FakeResponse or an exception to raise)."""
    config.settings.cache_clear()
    session = FakeSession(None)
    monkeypatch.setattr(byteplus, "_session", lambda: session)

    def give(value):
        session.answer = value
        return session

    yield give
    config.settings.cache_clear()


def envelope(action: str, code: str | None = None, status: int = 200) -> FakeResponse:
    meta = {"RequestId": "202405011200000102250712", "Action": action, "Version": "2022-06-01",
            "Service": "rtc", "Region": REGION}
    body = ({"ResponseMetadata": {**meta, "Error": {"Code": code, "Message": "..."}}} if code
            else {"ResponseMetadata": meta, "Result": "ok"})
    return FakeResponse(status, json.dumps(body).encode())


def test_the_client_posts_the_signed_request_the_api_documents(answer, monkeypatch):
    monkeypatch.setenv("RTC_BUSINESS_ID", "biz-1")
    session = answer(envelope("StartSnapshot"))
    start_snapshot("room-1", "snap-1", config={"MaxIdleTime": 180})
    (sent,) = session.sent
    s = config.settings()
    assert sent["url"] == f"{s.rtc_api_url}/?Action=StartSnapshot&Version=2022-06-01"
    assert json.loads(sent["data"]) == {"AppId": s.rtc_app_id, "BusinessId": "biz-1", "RoomId": "room-1",
                                        "TaskId": "snap-1", "MaxIdleTime": 180}
    query = {"Action": "StartSnapshot", "Version": "2022-06-01"}
    path = "/" + sent["url"].split("/", 3)[3].split("?")[0]
    signing.verify("POST", path, query, Headers(sent["headers"]), sent["data"],
                   secrets={s.rtc_access_key_id: s.rtc_secret_key}, region=s.rtc_region)

    monkeypatch.delenv("RTC_BUSINESS_ID")
    config.settings.cache_clear()
    session = answer(envelope("StopSnapshot"))
    stop_snapshot("room-1", "snap-1")
    assert "BusinessId" not in json.loads(session.sent[-1]["data"])  # optional: left out when not set


@pytest.mark.parametrize("call, response", [
    (start_snapshot, envelope("StartSnapshot")),
    (stop_snapshot, envelope("StopSnapshot")),
    (start_snapshot, envelope("StartSnapshot", "InvalidParameter.TaskAlreadyExists")),  # already running
    (stop_snapshot, envelope("StopSnapshot", "InvalidParameter.ErrorActiveTaskNotFound")),  # already stopped
])
def test_success_and_the_state_already_asked_for_are_fine(answer, call, response):
    answer(response)
    assert call("room-1", "snap-1") is None


@pytest.mark.parametrize("call, response, retryable", [
    (start_snapshot, envelope("StartSnapshot", "InvalidParameter.ErrorActiveTaskNotFound"), False),
    (stop_snapshot, envelope("StopSnapshot", "InvalidParameter.TaskAlreadyExists"), False),
    (stop_snapshot, envelope("StopSnapshot", "SignatureDoesNotMatch", 401), False),
    (stop_snapshot, envelope("StopSnapshot", "InvalidParameter.NotExistAppId"), False),
    (stop_snapshot, FakeResponse(400, b"not json"), False),
    (stop_snapshot, envelope("StopSnapshot", "InternalError", 500), True),
    (stop_snapshot, envelope("StopSnapshot", "FlowLimitExceeded.QPSOverLimit"), True),  # throttled, HTTP 200
    (stop_snapshot, envelope("StopSnapshot", "FlowLimitExceeded", 429), True),
    (start_snapshot, FakeResponse(503, b"<html>busy</html>"), True),
    (start_snapshot, FakeResponse(502, b"{}"), True),
    (start_snapshot, envelope("StartSnapshot", status=500), True),
    (stop_snapshot, requests.ConnectionError("refused"), True),
    (stop_snapshot, requests.Timeout("read timed out"), True),
])
def test_failures_say_whether_to_retry(answer, call, response, retryable):
    answer(response)
    with pytest.raises(RtcError) as failed:
        call("room-1", "snap-1")
    assert isinstance(failed.value, AppError)
    assert failed.value.retryable is retryable and failed.value.status == (503 if retryable else 502)


def test_a_function_that_does_not_declare_the_rtc_secret_cannot_call(answer):
    session = answer(envelope("StopSnapshot"))
    with options.declared(options.FunctionOptions(secrets=("PUSHER_SECRET",))):
        with pytest.raises(RuntimeError, match="RTC_SECRET_KEY"):
            stop_snapshot("room-1", "snap-1")
    assert session.sent == []
