"""PyJWT (and cryptography under it) is imported on first use, as the Firestore client is
(tests/unit/test_firestore_import.py): a new instance's first requests run at once in the server's
threads, so shared/ takes it from shared.core.auth.jwt_library() only, one entry under a lock."""
from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOME = "shared/core/auth.py"

# Every first path into the library, each in its own thread, all released at once.
RACE = """
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
assert auth.authenticate(f"Bearer {token}").scopes == {"role:creator"}
print(json.dumps(errors))
"""


def test_threads_importing_jwt_at_once_all_get_it():
    runs = [subprocess.Popen([sys.executable, "-c", RACE], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(3)]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert json.loads(out.splitlines()[-1]) == []


def test_only_the_core_module_imports_jwt():
    """Another module importing jwt itself would skip the lock (and load cryptography at import)."""
    offenders = []
    for path in [*ROOT.glob("shared/**/*.py"), *ROOT.glob("functions/*.py")]:
        if path.relative_to(ROOT).as_posix() == HOME:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            if any(n.split(".")[0] == "jwt" for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], f"use shared.core.auth.jwt_library() instead: {offenders}"
