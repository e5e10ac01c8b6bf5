"""Test clients: the HTTP API with bearer tokens, and a Pusher websocket subscriber; waiting for
the stack: a condition (`wait_until`), a deadline (`until`), nothing left to do (`settled`)."""
from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass

import requests
import websocket

from shared.core import auth, ids


@dataclass
class User:
    id: str
    token: str
    client_id: str

    @classmethod
    def new(cls, *scopes: str) -> User:
        user_id, client_id = ids.new_id(), f"app-{ids.new_id()[-6:]}"
        return cls(user_id, auth.mint(user_id, list(scopes), client_id=client_id), client_id)


class Api:
    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def call(self, method: str, path: str, user: User | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if user:
            headers["Authorization"] = f"Bearer {user.token}"
        return self.http.request(method, self.base + path, headers=headers, timeout=30, **kwargs)


class PusherSocket:
    """A websocket client of the Pusher protocol that records every event it receives."""

    def __init__(self, host: str, port: int, key: str):
        self.ws = websocket.create_connection(f"ws://{host}:{port}/app/{key}?protocol=7&client=tests&version=1.0",
                                              timeout=10)
        hello = json.loads(self.ws.recv())
        assert hello["event"] == "pusher:connection_established", hello
        self.socket_id = json.loads(hello["data"])["socket_id"]
        self.inbox: queue.Queue = queue.Queue()
        self.received: list[tuple[float, str, str, dict]] = []  # (monotonic time, channel, event, data)
        self._closed = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while not self._closed:
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue  # a quiet channel: keep listening (the connection's timeout is 10 s)
            except Exception:
                return
            if not raw:
                continue
            at = time.monotonic()
            msg = json.loads(raw)
            if msg.get("event") == "pusher:ping":
                self.ws.send(json.dumps({"event": "pusher:pong", "data": {}}))
                continue
            data = msg.get("data")
            data = json.loads(data) if isinstance(data, str) and data[:1] in "{[" else data
            item = (at, msg.get("channel"), msg.get("event"), data)
            self.received.append(item)
            self.inbox.put(item)

    def subscribe(self, channel: str, auth: dict) -> None:
        """`auth` is what the server's channel authorization returned: {"auth", ["channel_data"]}."""
        self.ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": channel, **auth}}))
        self.wait_for("pusher_internal:subscription_succeeded", channel=channel, timeout=10)

    def wait_for(self, event: str, *, channel: str | None = None, timeout: float = 15, where=lambda data: True):
        deadline = time.monotonic() + timeout
        for item in list(self.received):
            if item[2] == event and (channel is None or item[1] == channel) and where(item[3]):
                return item
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no {event} on {channel} within {timeout}s; got {[i[1:3] for i in self.received]}")
            try:
                item = self.inbox.get(timeout=left)
            except queue.Empty:
                continue
            if item[2] == event and (channel is None or item[1] == channel) and where(item[3]):
                return item

    def count(self, event: str, where=lambda data: True) -> int:
        return sum(1 for item in self.received if item[2] == event and where(item[3]))

    def close(self) -> None:
        self._closed = True
        self.ws.close()


def wait_until(check, timeout: float = 15, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def until(moment: float) -> None:
    """Sleep until the wall-clock time `moment` (a deadline of the stack's: an exp, a refund due)."""
    time.sleep(max(0.0, moment - time.time()))


def marker(key: str) -> dict:
    """The marker of step `key` ({} when that step never ran)."""
    from shared.core import steps

    return steps.stored(key) or {}


TEST_STARTED = 0.0  # the current test's start (tests/conftest.py): settled() looks at its steps
QUIET = 0.5  # seconds without any activity that make the stack settled


def settled(*, since: float | None = None, quiet: float = QUIET, timeout: float = 60) -> None:
    """Wait until the stack has nothing left to do, for "nothing more arrives" checks: no step marker
    applied since `since` (by default the current test's start) has unsent effects (`flushed_at`
    None), no Cloud Tasks queue of the registry holds a task due (within `quiet`), and no new marker
    was applied, for `quiet` seconds in a row. A task due later is a timer: wait for it first
    (`until`). Fails naming what is still pending."""
    since = TEST_STARTED if since is None else since
    deadline = time.monotonic() + timeout
    calm_from, seen = None, None
    while True:
        polled = time.monotonic()
        unsent, due, applied = _unsent_markers(since), _due_tasks(quiet), _markers_applied(since)
        if unsent or due:
            calm_from = None
        elif calm_from is None or applied != seen:
            calm_from = polled
        seen = applied
        if calm_from is not None and polled - calm_from >= quiet:
            return
        if polled > deadline:
            raise AssertionError(f"the stack did not settle within {timeout} s: unsent effects of {unsent[:10]}, "
                                 f"tasks due {due[:10]}, {applied} markers since the start")
        time.sleep(0.05)


def _unsent_markers(since: float) -> list[str]:
    from shared.core import steps
    from shared.core.firestore import where

    return [snap.get("key") for snap in where(steps.STEPS, flushed_at=None).stream()
            if (snap.to_dict().get("applied_at") or 0) >= since]


def _markers_applied(since: float) -> int:
    from shared.core import steps
    from shared.core.firestore import where

    counted = where(steps.STEPS, ("applied_at", ">=", since)).count().get()
    return int(counted[0][0].value)


def _due_tasks(within: float) -> list[str]:
    """The tasks of the registry's queues due by now + `within` (the emulator lists a task until it
    succeeded or was given up, and not while it is being dispatched)."""
    from shared.core import tasks
    from shared.core.registry import REGISTRY

    horizon = time.time() + within
    return [task.name.rsplit("/", 1)[-1] for queue in REGISTRY.queues
            for task in tasks._client().list_tasks(parent=tasks.queue_path(queue))
            if task.schedule_time.timestamp() <= horizon]


def funding_body(session_id: str, exp: int, *, target: int = 10, hesitation: int = 0) -> dict:
    """The body of seed 000, for a session and an expiry."""
    return {
        "levels": [{"title": "Test", "target": target}],
        "exp": exp,
        "context": {
            "perform_duration": 60,
            "session_id": session_id,
            "hesitation_countdown": hesitation,
            "ticket_product_id": "livestream-show-ticket_134",
            "ticket_product_type": "earlybird",
            "discount_percentage": 33,
        },
    }


def start_session(api: Api, streamer: User) -> dict:
    response = api.call("POST", "/sessions", streamer, json={"title": "show"})
    assert response.status_code == 201, response.text
    return response.json()


def create_funding_goal(api: Api, streamer: User, session_id: str, exp: int, **options) -> dict:
    response = api.call("POST", "/goals?type=show-funding", streamer, json=funding_body(session_id, exp, **options))
    assert response.status_code == 201, response.text
    return response.json()
