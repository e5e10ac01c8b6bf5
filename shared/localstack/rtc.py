"""A local BytePlus RTC OpenAPI for the snapshot actions, checked the way the real gateway checks.

    python -m shared.localstack.rtc --port 8129     (./emulators.sh starts it as `rtc`, RTC_PORT)

    POST /?Action=StartSnapshot|StopSnapshot&Version=2022-06-01   signed JSON {AppId, RoomId, TaskId, ...}
    GET  /calls     every signed call that named a task, oldest first, with its error (for tests)
    GET  /healthz   {"status": "ok", "service": "rtc-openapi"}

The credentials are the stack's (RTC_ACCESS_KEY_ID, RTC_SECRET_KEY, RTC_REGION, RTC_APP_ID, read
through shared.core.config as the client reads them). Answers follow shared.rtc.byteplus's notes:
gateway refusals (a missing or wrong signature, an unknown key, a stale X-Date, an unknown action)
with their HTTP status and CodeN; business errors of version 2022-06-01 with HTTP 200 and the
Error. Each task (AppId, RoomId, TaskId) is running or stopped: starting a running task answers
InvalidParameter.TaskAlreadyExists, stopping one that is not running
InvalidParameter.ErrorActiveTaskNotFound, as the vendor documents; a stopped task may start again
(undocumented; allowed here).
"""
from __future__ import annotations

import datetime
import json
import re
import secrets
import threading
import time

from werkzeug.wrappers import Request, Response

from shared.core.config import settings
from shared.localstack.serving import serve
from shared.rtc import signing
from shared.rtc.byteplus import ALREADY_DONE, START, STOP, VERSION

# The gateway's own refusals: HTTP status and CodeN ("Common error codes of BytePlus OpenAPI").
GATEWAY = {
    "MissingParameter": (400, 100002), "MissingAuthenticationToken": (401, 100003),
    "MissingSignature": (401, 100005), "InvalidTimestamp": (400, 100006),
    "InvalidActionOrVersion": (404, 100008), "InvalidAccessKey": (401, 100009),
    "SignatureDoesNotMatch": (401, 100010),
}
ID = re.compile(r"[a-zA-Z0-9_@\-.]{1,128}")  # the RTC OpenAPI's rule for RoomId, TaskId, BusinessId


class RtcApi:
    def __init__(self, *, app_id: str, access_key_id: str, secret_key: str, region: str):
        self.app_id, self.region = app_id, region
        self.secrets = {access_key_id: secret_key}
        self.lock = threading.Lock()
        self.tasks: dict[tuple[str, str, str], str] = {}  # (AppId, RoomId, TaskId) -> running | stopped
        self.calls: list[dict] = []

    def __call__(self, environ, start_response):
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.path == "/healthz" and request.method == "GET":
            return _json({"status": "ok", "service": "rtc-openapi"}, 200)
        if request.path == "/calls" and request.method == "GET":
            with self.lock:
                return _json(list(self.calls), 200)
        action, version = request.args.get("Action", ""), request.args.get("Version", "")
        reply = Reply(action, version, self.region)
        if not action or not version:
            return reply.gateway("MissingParameter",
                                 f"The request is missing {'Action' if not action else 'Version'} parameter.")
        if request.path != "/" or request.method != "POST" or action not in ALREADY_DONE or version != VERSION:
            return reply.gateway("InvalidActionOrVersion", f"Could not find operation {action} for version {version}.")
        body = request.get_data()
        try:
            signing.verify(request.method, request.path, request.args.to_dict(), request.headers, body,
                           secrets=self.secrets, region=self.region)
        except signing.Refused as refused:
            return reply.gateway(refused.code, str(refused))
        return self.act(reply, body)

    def act(self, reply: Reply, raw: bytes) -> Response:
        if not raw.strip():
            return reply.error("InvalidParameter.BodyIsEmpty", "Request content is empty")
        try:
            body = json.loads(raw)
            app, room, task, business = (body.get(k, "") for k in ("AppId", "RoomId", "TaskId", "BusinessId"))
        except (ValueError, AttributeError):
            return reply.error("InvalidParameter.Unmarshal", "Request parsing failed")
        if app != self.app_id:
            return reply.error("InvalidParameter.NotExistAppId", "AppId does not exist")
        if not (isinstance(room, str) and ID.fullmatch(room)):
            return reply.error("InvalidParameter.IllegalRoomID", "Illegal roomId")
        if not (isinstance(task, str) and ID.fullmatch(task)) or (business and not ID.fullmatch(str(business))):
            return reply.error("InvalidParameter", "TaskId or BusinessId does not match [a-zA-Z0-9_@-.]{1,128}")
        with self.lock:
            key = (app, room, task)
            running = self.tasks.get(key) == "running"
            refused = ALREADY_DONE[reply.action] if running == (reply.action == START) else None
            if refused is None:
                self.tasks[key] = "running" if reply.action == START else "stopped"
            self.calls.append({"time": time.time(), "action": reply.action, "version": reply.version,
                               "app_id": app, "business_id": business, "room_id": room, "task_id": task,
                               "error": refused, "request_id": reply.request_id})
        if refused == ALREADY_DONE[START]:
            return reply.error(refused, "The task already exists")
        if refused == ALREADY_DONE[STOP]:
            return reply.error(refused, "The task doesn't exist or has stopped")
        return reply.ok("ok")


class Reply:
    """The vendor's envelope around a result or an error."""

    def __init__(self, action: str, version: str, region: str):
        self.action, self.version, self.region = action, version, region
        now = datetime.datetime.now(datetime.UTC)
        self.request_id = f"{now:%Y%m%d%H%M%S}{secrets.token_hex(8).upper()}"

    def metadata(self) -> dict:
        return {"RequestId": self.request_id, "Action": self.action, "Version": self.version,
                "Service": signing.SERVICE, "Region": self.region}

    def ok(self, result) -> Response:
        return _json({"ResponseMetadata": self.metadata(), "Result": result}, 200)

    def error(self, code: str, message: str) -> Response:  # a business error: HTTP 200 in 2022-06-01
        return _json({"ResponseMetadata": {**self.metadata(), "Error": {"Code": code, "Message": message}}}, 200)

    def gateway(self, code: str, message: str) -> Response:
        status, code_n = GATEWAY[code]
        error = {"CodeN": code_n, "Code": code, "Message": message}
        return _json({"ResponseMetadata": {**self.metadata(), "Error": error}}, status)


def _json(body, status: int) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def from_settings() -> RtcApi:
    s = settings()
    return RtcApi(app_id=s.rtc_app_id, access_key_id=s.rtc_access_key_id, secret_key=s.rtc_secret_key,
                  region=s.rtc_region)


def main() -> None:
    serve(from_settings, description=__doc__, default_port=8129, what="RTC OpenAPI")


if __name__ == "__main__":
    main()
