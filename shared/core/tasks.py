"""Scheduling Cloud Tasks HTTP tasks (the seeds' Celery `eta`), and checking them on arrival.

Task names are deterministic (task, business key, due second), so Cloud Tasks drops a repeat;
the emulator does not, which is why every handler re-checks state. Each task body is signed
with TASK_SECRET, checked by the handler before parsing, in the cloud (beside OIDC) and locally.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from typing import Any

from shared.core import clock, logs
from shared.core.config import settings
from shared.core.errors import Unauthorized
from shared.core.registry import REGISTRY, Task, TaskArgs

# Cloud Tasks refuses a schedule_time more than 30 days ahead: a later task arrives early and
# its handler schedules itself again for the remaining time.
MAX_AHEAD = 29 * 24 * 3600
SIGNATURE_HEADER = "X-Task-Signature"
TRACE_HEADER = "X-Trace-Id"  # the trace of the request or event that scheduled the task


@functools.cache
def _client():
    from google.cloud import tasks_v2

    host = settings().tasks_emulator_host
    if not host:
        return tasks_v2.CloudTasksClient()
    import grpc
    from google.cloud.tasks_v2.services.cloud_tasks.transports import (
        CloudTasksGrpcTransport,
    )

    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(host)))


def queue_path(queue: str) -> str:
    return f"{settings().queue_parent}/queues/{queue}"


def sign(task: str, body: bytes) -> str:
    return hmac.new(settings().task_secret.encode(), task.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def verify(task: str, body: bytes, signature: str | None) -> None:
    # compared as bytes: compare_digest refuses a str with non-ASCII characters (a TypeError)
    given = (signature or "").encode("utf-8", "surrogateescape")
    if not given or not hmac.compare_digest(sign(task, body).encode(), given):
        raise Unauthorized("task signature missing or wrong")


def task_id(task: str, args: dict, due: float) -> str:
    key = REGISTRY.tasks[task].args.model_validate(args).task_key()
    raw = f"{task}-{key}-{int(due)}"
    return re.sub(r"[^A-Za-z0-9_-]", "-", raw)[:500]


def schedule(task: Task | str, args: TaskArgs | dict, at: float) -> str:
    """Create the task (idempotent by name); returns its id. Steps record it as an effect
    (`fx.schedule`); a task handler that reschedules itself outside a step calls it directly."""
    from google.api_core.exceptions import AlreadyExists
    from google.protobuf import timestamp_pb2

    spec = REGISTRY.tasks[task] if isinstance(task, str) else task
    task = spec.name
    args = spec.checked(args) if isinstance(args, TaskArgs) else args
    body = json.dumps(spec.args.model_validate(args).model_dump(mode="json"), separators=(",", ":")).encode()
    due = min(at, clock.now() + MAX_AHEAD)
    name = task_id(task, args, at)  # named by when it is meant for: a repeat gets the same name
    target = (settings().tasks_worker_url.replace("{function}", spec.worker) if spec.worker
              else settings().tasks_target_url)
    request: dict[str, Any] = {
        "http_method": "POST",
        "url": f"{target}/{task}",
        "headers": {"Content-Type": "application/json", SIGNATURE_HEADER: sign(task, body)},
        "body": body,
    }
    if trace := logs.fields().get("trace"):
        request["headers"][TRACE_HEADER] = trace
    if settings().tasks_service_account:
        request["oidc_token"] = {"service_account_email": settings().tasks_service_account}
    schedule_time = timestamp_pb2.Timestamp()
    schedule_time.FromNanoseconds(int(due * 1e9))
    created = {"name": f"{queue_path(spec.queue)}/tasks/{name}", "schedule_time": schedule_time,
               "http_request": request}
    if spec.worker:  # Cloud Tasks waits for the answer as long as the worker may run (10 min by default)
        from google.protobuf import duration_pb2

        created["dispatch_deadline"] = duration_pb2.Duration(seconds=REGISTRY.worker_options[spec.worker].timeout)
    try:
        _client().create_task(parent=queue_path(spec.queue), task=created)
    except AlreadyExists:
        pass  # the same task was scheduled before: Cloud Tasks keeps one
    return name
