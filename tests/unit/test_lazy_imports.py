"""Heavy libraries are imported on first use, and a new instance's first requests and receivers run
at once in the server's threads. A library whose modules import each other in a cycle
(google.cloud.firestore_v1: query -> base_query -> firestore_v1) fails for threads that enter it at
once through different modules (a client in one, a FieldFilter in another): partly initialised
modules, ImportError, a 500 on the first POST /sessions of a fresh stack while the first
maintenance tick's receivers ran. So shared/ takes each such library from one module, through one
function, under a lock: google.cloud.firestore from shared.core.firestore, PyJWT (and cryptography
under it) from shared.core.auth.jwt_library()."""
from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Every first path into the library, each in its own thread, all released at once (RELEASE).
FIRESTORE_RACE = """
import json, os, sys, threading
sys.path.insert(0, os.getcwd())
os.environ["FIRESTORE_EMULATOR_HOST"] = "127.0.0.1:9"  # the clients are built, never called
from shared.core import firestore
from shared.realtime import headcount

paths = [
    firestore.db,
    lambda: firestore.where("goals", ("exp", "<", 1), active=True),
    lambda: firestore.field_filter("a", "==", 1),
    lambda: firestore.increment(1),
    lambda: firestore.field_path("generations", "g-1"),
    lambda: firestore.delete_field(),
    lambda: headcount._present("streamer"),
    lambda: firestore.library().Client,
]
assert "google.cloud.firestore" not in sys.modules
CHECK = ""
"""

JWT_RACE = """
import json, os, sys, threading
sys.path.insert(0, os.getcwd())
from shared.core import auth, ids
from shared.core.errors import Unauthorized
from shared.shop import signing

fields = {"icpId": "icp", "icpOrderId": "o-1", "price": 100, "mpId": "mp"}
token = None

def mint():
    global token
    token = auth.mint(ids.new_id(), ["role:creator"])

def refuse():
    try:
        auth.authenticate("Bearer not-a-token")
    except Unauthorized:
        return
    raise AssertionError("a bad token was accepted")

paths = [
    mint,
    refuse,
    lambda: signing.metadata_token(fields, 1e9),
    lambda: signing.read_metadata(signing.metadata_token(fields, 2e9)),
    lambda: auth.jwt_library().decode,
    lambda: auth.jwt_library().InvalidTokenError,
]
assert "jwt" not in sys.modules and "cryptography" not in sys.modules
CHECK = 'assert auth.authenticate(f"Bearer {token}").scopes == {"role:creator"}'
"""

RELEASE = """
start = threading.Barrier(len(paths))
errors = []

def run(path):
    start.wait()
    try:
        path()
    except BaseException as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=run, args=(path,)) for path in paths]
for t in threads:
    t.start()
for t in threads:
    t.join()
exec(CHECK)
print(json.dumps(errors))
"""


@pytest.mark.parametrize("race, runs", [(FIRESTORE_RACE, 5), (JWT_RACE, 3)], ids=["firestore", "jwt"])
def test_threads_importing_a_library_at_once_all_get_it(race: str, runs: int):
    # with a FieldFilter imported from its own module, about half of such interpreters failed
    started = [subprocess.Popen([sys.executable, "-c", race + RELEASE], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(runs)]
    for run in started:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert json.loads(out.splitlines()[-1]) == []


def importers(prefixes: tuple[tuple[str, ...], ...], home: str) -> list[str]:
    """Where a module of shared/ or functions/ other than `home` imports one of the packages."""
    found = []
    for path in [*ROOT.glob("shared/**/*.py"), *ROOT.glob("functions/*.py")]:
        if path.relative_to(ROOT).as_posix() == home:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            if any(tuple(n.split("."))[:len(p)] == p for n in names for p in prefixes):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_only_the_core_module_imports_firestore():
    """Another module importing google.cloud.firestore* itself would race the lock again."""
    offenders = importers((("google", "cloud", "firestore"), ("google", "cloud", "firestore_v1")),
                          "shared/core/firestore.py")
    assert offenders == [], f"use shared.core.firestore (library(), field_filter, ...) instead: {offenders}"


def test_only_the_core_module_imports_jwt():
    """Another module importing jwt itself would skip the lock (and load cryptography at import)."""
    offenders = importers((("jwt",),), "shared/core/auth.py")
    assert offenders == [], f"use shared.core.auth.jwt_library() instead: {offenders}"
