from __future__ import annotations

import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared import app  # noqa: E402
from tests.stack import running_stack  # noqa: E402
from tests.support import Api, PusherSocket, User  # noqa: E402

app.load()


@pytest.fixture(scope="session")
def stack():
    """A private stack on free ports for the whole run, started on first use."""
    with running_stack() as s:
        print(f"\nstack healthy after {s['healthy_after']:.1f} s")
        yield s


@pytest.fixture(scope="session")
def api(stack) -> Api:
    return Api(stack["api"])


@pytest.fixture
def streamer() -> User:
    return User.new("role:creator")


@pytest.fixture
def viewer() -> User:
    return User.new()


@pytest.fixture
def pusher_socket(stack):
    from shared.core import pusher

    sockets = []

    def connect(*channels: str) -> PusherSocket:
        sock = PusherSocket("127.0.0.1", int(os.environ["PUSHER_PORT"]), os.environ["PUSHER_KEY"])
        for channel in channels:
            presence = {"user_id": "tests"} if channel.startswith("presence-") else None
            sock.subscribe(channel, pusher.client().authenticate(channel, sock.socket_id, custom_data=presence))
        sockets.append(sock)
        return sock

    yield connect
    for sock in sockets:
        sock.close()
