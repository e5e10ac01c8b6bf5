"""The Firestore client library is imported on first use, and a new instance's first requests and
receivers run at once in the server's threads. google.cloud.firestore_v1's modules import each
other in a cycle, so threads importing it at once through different modules (a client in one, a
FieldFilter in another) got partly initialised modules: ImportError, a 500 on the first POST
/sessions of a fresh stack while the first maintenance tick's receivers ran. shared/ takes the
library from shared.core.firestore only, through one module and under a lock."""
from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOME = "shared/core/firestore.py"

# Every first path into the library, each in its own thread, all released at once.
RACE = """
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
print(json.dumps(errors))
"""


def test_threads_importing_the_library_at_once_all_get_it():
    # with a FieldFilter imported from its own module, about half of such interpreters failed
    runs = [subprocess.Popen([sys.executable, "-c", RACE], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(5)]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert json.loads(out.splitlines()[-1]) == []


def test_only_the_core_module_imports_the_library():
    """Another module importing google.cloud.firestore* itself would race the lock again."""
    offenders = []
    for path in [*ROOT.glob("shared/**/*.py"), *ROOT.glob("functions/*.py")]:
        if path.relative_to(ROOT).as_posix() == HOME:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[:3] in (["google", "cloud", "firestore"], ["google", "cloud", "firestore_v1"])
                   for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], f"use shared.core.firestore (library(), field_filter, ...) instead: {offenders}"
