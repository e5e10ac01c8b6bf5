"""BytePlus RTC OpenAPI adapter: stop a room's snapshot task while a private 1-on-1 runs, start it after.

The protocol, as found (docs.byteplus.com/en/docs/byteplus-rtc/...):

    POST {RTC_API_URL}/?Action=StartSnapshot&Version=2022-06-01    (docs-155125)
    POST {RTC_API_URL}/?Action=StopSnapshot&Version=2022-06-01     (docs-155157)
    Content-Type: application/json, signed (shared.rtc.signing; service "rtc", region e.g. ap-singapore-1)
    {"AppId": ..., "BusinessId": ... (optional), "RoomId": ..., "TaskId": ...}

The service address is open.byteplusapi.com ("Call OpenAPI", docs-69828; the SDK's RtcService uses
it too: byteplus-sdk/byteplus-sdk-python byteplus_sdk/example/rtc/RtcService.py, region
ap-singapore-1, service rtc). AppId + RoomId + TaskId name a task. StartSnapshot also takes
TargetStreams, MaxIdleTime, ImageConfig and StorageConfig; the pages read did not show which of
these the vendor insists on, so `start_snapshot(..., config=...)` passes them through as named.

Every answer is {"ResponseMetadata": {"RequestId", "Action", "Version", "Service", "Region",
"Error": {"CodeN", "Code", "Message"} only on failure}, "Result": ... only on success ("ok")}
(2022-06-01 "Return parameters", docs/115995). "Call OpenAPI" gives failures a non-200 status for
versions 2023-07-20 and 2023-11-01 and says older ones answer HTTP 200 with the Error; the gateway its
own (SignatureDoesNotMatch 401, ...: "Common error codes of BytePlus OpenAPI") with 4xx/5xx. So the
Error decides, whatever the status. (Volcengine's 2023-11-01 StartSnapshot answers a repeated start
with success and a note in Result: also fine here.)

Which failures are which (RTC "Error Code", docs-70426):
    success    StartSnapshot: InvalidParameter.TaskAlreadyExists ("The task already exists"),
               StopSnapshot: InvalidParameter.ErrorActiveTaskNotFound ("The task doesn't exist or has
               stopped"): the state we asked for already holds (a retry after a lost answer).
    retryable  no answer (connection errors, timeouts), HTTP 5xx and 429, InternalError*,
               ServiceUnavailable*, FlowLimitExceeded.QPSOverLimit (throttled).
    permanent  anything else (a bad signature or key, an unknown AppId, an illegal RoomId, ...).

Whether a stopped TaskId may be started again is not documented: start with a fresh TaskId.
"""
from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from typing import Any

from shared.core import options
from shared.core.config import settings
from shared.core.errors import AppError
from shared.rtc import signing

VERSION = "2022-06-01"
START, STOP = "StartSnapshot", "StopSnapshot"
ALREADY_DONE = {START: "InvalidParameter.TaskAlreadyExists", STOP: "InvalidParameter.ErrorActiveTaskNotFound"}
_RETRYABLE_PREFIXES = ("InternalError", "ServiceUnavailable", "FlowLimitExceeded.QPSOverLimit")
TIMEOUT = (3.05, 10)  # connect, read (seconds)

log = logging.getLogger(__name__)


class RtcError(AppError):
    """The RTC OpenAPI did not do what we asked. `retryable`: trying again could succeed."""

    status, code = 502, "rtc_error"

    def __init__(self, message: str, *, retryable: bool, vendor_code: str | None = None,
                 http_status: int | None = None):
        super().__init__(message, details={"vendor_code": vendor_code, "http_status": http_status})
        self.retryable = retryable
        self.vendor_code = vendor_code
        self.http_status = http_status
        if retryable:
            self.status = 503


def start_snapshot(room_id: str, task_id: str, *, config: Mapping[str, Any] | None = None) -> None:
    """Start snapshotting `room_id` as task `task_id`; `config` adds StartSnapshot's optional fields
    (TargetStreams, MaxIdleTime, ImageConfig, StorageConfig) as the vendor names them."""
    _call(START, room_id, task_id, dict(config or {}))


def stop_snapshot(room_id: str, task_id: str) -> None:
    """Stop the snapshot task `task_id` of `room_id`; a task already stopped (or never started) is fine."""
    _call(STOP, room_id, task_id, {})


@functools.cache
def _session():
    import requests  # on first use: most functions never call RTC

    return requests.Session()


def _call(action: str, room_id: str, task_id: str, extra: dict) -> None:
    import requests

    options.requires("RTC_SECRET_KEY", f"calling RTC {action}")
    s = settings()
    if not (s.rtc_app_id and s.rtc_access_key_id):
        raise RtcError("RTC_APP_ID and RTC_ACCESS_KEY_ID must be set", retryable=False)
    body = {"AppId": s.rtc_app_id, **({"BusinessId": s.rtc_business_id} if s.rtc_business_id else {}),
            "RoomId": room_id, "TaskId": task_id, **extra}
    data = json.dumps(body, separators=(",", ":")).encode()
    query = {"Action": action, "Version": VERSION}
    url = f"{s.rtc_api_url}/"
    headers = signing.sign("POST", url, query, data, access_key_id=s.rtc_access_key_id,
                           secret_key=s.rtc_secret_key, region=s.rtc_region)
    try:
        # the query as signed, not as requests would encode it
        response = _session().post(f"{url}?{signing.canonical_query(query)}", data=data, headers=headers,
                                   timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise RtcError(f"RTC {action} got no answer: {exc}", retryable=True) from exc
    _check(action, room_id, task_id, response.status_code, response.content)


def _check(action: str, room_id: str, task_id: str, status: int, content: bytes) -> None:
    throttled_or_down = status == 429 or status >= 500
    try:
        metadata = json.loads(content)["ResponseMetadata"]
        error = metadata.get("Error") or None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise RtcError(f"RTC {action} answered HTTP {status} without its envelope", retryable=throttled_or_down,
                       http_status=status) from None
    if error is None:
        if 200 <= status < 300:
            return
        raise RtcError(f"RTC {action} answered HTTP {status}", retryable=throttled_or_down, http_status=status)
    code = str(error.get("Code") or "")
    if code == ALREADY_DONE[action]:
        log.info("RTC %s of %s/%s: already so (%s)", action, room_id, task_id, code)
        return
    retryable = throttled_or_down or code.startswith(_RETRYABLE_PREFIXES)
    raise RtcError(f"RTC {action} refused: {code}: {error.get('Message')} (request {metadata.get('RequestId')})",
                   retryable=retryable, vendor_code=code, http_status=status)
