from __future__ import annotations

import itertools
import os
import pathlib
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared import app  # noqa: E402
from tests import support  # noqa: E402
from tests.stack import StackUnusable, exported_stack, running_stack, using  # noqa: E402
from tests.support import Api, PusherSocket, User  # noqa: E402

app.load()
STACK_FIXTURES = {"session_stack", "stack", "api", "pusher_socket"}  # and every fixture built on them
# A running stack's environment exported when the run starts: the tests use that stack (not under xdist)
EXPORTED = bool(os.environ.get("API_URL")) and not os.environ.get("PYTEST_XDIST_WORKER")
# The longest modules (about 5, 2 and 1 minutes) run first, on stacks that hold little yet, one group
# at the start of each xdist worker's share of the tests (--dist worksteal hands out equal slices of
# the collection, then moves what is left to whoever is idle): none of them is left alone at the end.
FIRST = (("tests/integration/test_flows_stateful.py",),
         ("tests/integration/test_ledger_stateful.py", "tests/e2e/test_media.py"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """A test that uses the stack carries the `stack` marker, so `-m "not stack"` starts nothing."""
    unmarked = [item.nodeid for item in items
                if STACK_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("stack")]
    if unmarked:
        raise pytest.UsageError("these tests use the stack without the `stack` marker "
                                "(pytestmark = pytest.mark.stack):\n  " + "\n  ".join(unmarked))
    items[:] = longest_first(items, getattr(config, "workerinput", {}).get("workercount", 1))


def longest_first(items: list, workers: int) -> list:
    """The collection as the slices --dist worksteal gives `workers` workers at the start (each in
    turn `len(what is left) // workers left`), each slice beginning with its group of FIRST."""
    def module(item) -> str:
        return item.nodeid.split("::")[0]

    group_of = {path: n for n, group in enumerate(FIRST) for path in group}
    place = {path: n for n, path in enumerate(path for group in FIRST for path in group)}
    slices: list[list] = [[] for _ in range(workers)]
    for item in sorted((item for item in items if module(item) in group_of), key=lambda item: place[module(item)]):
        slices[group_of[module(item)] % workers].append(item)
    rest = iter([item for item in items if module(item) not in group_of])
    ordered: list = []
    for n, share in enumerate(slices):
        size = (len(items) - len(ordered)) // (workers - n)
        ordered += share + list(itertools.islice(rest, max(0, size - len(share))))
    return ordered + list(rest)


def pytest_runtest_setup(item):
    support.TEST_STARTED = time.time()  # what settled() looks at by default: this test's steps


@pytest.fixture(scope="session")
def session_stack():
    """The stack for the whole run, started on first use: the running one whose environment is
    exported (API_URL, from `eval "$(./emulators.sh env)"`), checked healthy and on the tests'
    timers; else, and always under xdist and `./emulators.sh test`, a private one on free ports."""
    if EXPORTED:
        try:
            values, unusable = exported_stack(), None
        except StackUnusable as exc:
            unusable = str(exc)
        if unusable:
            pytest.fail(unusable, pytrace=False)
        with using(values, healthy_after=0.0, reused=True) as s:
            print(f"\nusing the running stack at {s['api']} (STACK_DIR={s['state_dir']})")
            yield s
        return
    with running_stack() as s:
        print(f"\nstack healthy after {s['healthy_after']:.1f} s")
        yield s


@pytest.fixture(scope="module")
def stack(request):
    """The stack of a module's tests: the run's, or for a module that sets OWN_STACK = True a private
    one of its own, stopped at its end (unless a running stack is exported): what its tests leave
    behind (many live sessions, pre-sales expiring minutes later) then never runs into other tests.
    Such a module reaches its stack through `stack` and the environment, not the `api` fixture."""
    if getattr(request.module, "OWN_STACK", False) and not EXPORTED:
        with running_stack() as s:
            print(f"\n{request.module.__name__}: its own stack healthy after {s['healthy_after']:.1f} s")
            yield s
    else:
        yield request.getfixturevalue("session_stack")


@pytest.fixture(autouse=True)
def _stack_of_marked_tests(request):
    """A test marked `stack` gets it even when no fixture of it asks for the stack (it talks to the
    emulators through the environment)."""
    if request.node.get_closest_marker("stack"):
        request.getfixturevalue("stack")


@pytest.fixture(scope="session")
def api(session_stack) -> Api:
    return Api(session_stack["api"])


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
