"""The RTC client against the stack's local RTC OpenAPI (shared.localstack.rtc): calls arrive signed,
in order, with the right fields; repeats are fine; a wrong signature is refused as the gateway does."""
from __future__ import annotations

import json
import os

import pytest
import requests

from shared.core import config, ids
from shared.rtc import RtcError, signing, start_snapshot, stop_snapshot
from shared.rtc.byteplus import ALREADY_DONE, START, STOP

pytestmark = pytest.mark.stack


def calls(room_id: str) -> list[dict]:
    answer = requests.get(f"{os.environ['RTC_API_URL']}/calls", timeout=5)
    answer.raise_for_status()
    return [call for call in answer.json() if call["room_id"] == room_id]


def new_room() -> tuple[str, str]:
    return f"stream-{ids.new_id()}", f"snapshots-{ids.new_id()}"


def test_stop_then_start_reach_the_server_in_order(stack):
    room, task = new_room()
    stop_snapshot(room, task)  # never started: the API says so, and stopped is what we wanted
    start_snapshot(room, task)
    recorded = calls(room)
    assert [(c["action"], c["error"]) for c in recorded] == [(STOP, ALREADY_DONE[STOP]), (START, None)]
    s = config.settings()
    for call in recorded:
        assert (call["app_id"], call["room_id"], call["task_id"], call["version"]) == (
            s.rtc_app_id, room, task, "2022-06-01")
        assert call["business_id"] == s.rtc_business_id and call["request_id"]
    assert recorded[0]["time"] <= recorded[1]["time"]


def test_repeated_stops_and_starts_are_successes(stack):
    room, task = new_room()
    start_snapshot(room, task)
    start_snapshot(room, task)  # a retry after a lost answer
    stop_snapshot(room, task)  # the 1-on-1 begins
    stop_snapshot(room, task)
    start_snapshot(room, task)  # it ended
    assert [(c["action"], c["error"]) for c in calls(room)] == [
        (START, None), (START, ALREADY_DONE[START]), (STOP, None), (STOP, ALREADY_DONE[STOP]), (START, None),
    ]


def test_a_wrong_signature_is_refused_with_the_vendors_envelope(stack, monkeypatch):
    room, task = new_room()
    s = config.settings()
    url, query = f"{s.rtc_api_url}/", {"Action": STOP, "Version": "2022-06-01"}
    body = json.dumps({"AppId": s.rtc_app_id, "RoomId": room, "TaskId": task}).encode()
    headers = signing.sign("POST", url, query, body, access_key_id=s.rtc_access_key_id,
                           secret_key="not-the-secret", region=s.rtc_region)
    answer = requests.post(f"{url}?{signing.canonical_query(query)}", data=body, headers=headers, timeout=5)
    assert answer.status_code == 401
    metadata = answer.json()["ResponseMetadata"]
    assert metadata["Error"]["Code"] == "SignatureDoesNotMatch" and metadata["Error"]["CodeN"] == 100010
    assert (metadata["Action"], metadata["Version"], metadata["Service"]) == (STOP, "2022-06-01", "rtc")
    assert "Result" not in answer.json()

    # Correctly signed, but not the body that was signed
    headers = signing.sign("POST", url, query, body, access_key_id=s.rtc_access_key_id,
                           secret_key=s.rtc_secret_key, region=s.rtc_region)
    tampered = body.replace(task.encode(), b"another-task")
    answer = requests.post(f"{url}?{signing.canonical_query(query)}", data=tampered, headers=headers, timeout=5)
    assert answer.status_code == 401 and answer.json()["ResponseMetadata"]["Error"]["Code"] == "SignatureDoesNotMatch"

    # The client with the wrong secret: a permanent failure, not a retry
    monkeypatch.setenv("RTC_SECRET_KEY", "not-the-secret")
    config.settings.cache_clear()
    try:
        with pytest.raises(RtcError) as refused:
            stop_snapshot(room, task)
        assert refused.value.vendor_code == "SignatureDoesNotMatch" and refused.value.retryable is False
    finally:
        monkeypatch.undo()
        config.settings.cache_clear()
    assert calls(room) == []  # nothing refused was recorded
