"""A deployed function's cold start imports its entry point: the Google Cloud clients, PyAV and
imageio-ffmpeg are heavy (the Firestore client alone costs more than functions_framework) and are
imported where they are first used, never at import. Each entry point is imported here in a fresh
interpreter, as the runtime loads it (from the repository root, functions/ on sys.path)."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from shared import app

ROOT = pathlib.Path(__file__).resolve().parents[2]
# packages (and everything under them) that no entry point may load at import
HEAVY = ("google.cloud.firestore", "google.cloud.firestore_v1", "google.cloud.pubsub", "google.cloud.pubsub_v1",
         "google.cloud.tasks", "google.cloud.tasks_v2", "google.cloud.storage", "av", "imageio_ffmpeg")

# Records who imports a heavy package first, so that a failure names the line to change.
PROBE = """
import json, sys, traceback
HEAVY = {heavy!r}
first = {{}}

class Spy:
    def find_spec(self, name, path=None, target=None):
        if name in HEAVY and name not in first:
            first[name] = [f"{{f.filename}}:{{f.lineno}}" for f in traceback.extract_stack()[:-1]
                           if "<frozen" not in f.filename][-6:]
        return None

sys.meta_path.insert(0, Spy())
sys.path.insert(0, "functions")
import {module}
loaded = sorted(h for h in HEAVY if any(m == h or m.startswith(h + ".") for m in sys.modules))
print(json.dumps({{"loaded": loaded, "first": first}}))
"""


def assert_imports_none(module: str, heavy: tuple[str, ...], entry_point: str | None) -> None:
    """Imports functions/{module}.py in a fresh interpreter, deployed as `entry_point` (None: a local
    start, every feature); asserts none of `heavy` was loaded and says who imported it first."""
    env = {k: v for k, v in os.environ.items() if k not in ("FUNCTION_TARGET", "K_SERVICE", app.ENTRY_POINT_VARIABLE)}
    if entry_point is not None:
        env[app.ENTRY_POINT_VARIABLE] = entry_point
    run = subprocess.run([sys.executable, "-c", PROBE.format(heavy=heavy, module=module)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout.splitlines()[-1])
    assert found["loaded"] == [], (f"{entry_point or module} loads {found['loaded']} at import; first imported "
                                   f"from:\n" + json.dumps(found["first"], indent=1))


@pytest.mark.parametrize("module", ["api", "tasks", "receivers"])
def test_entry_point_imports_no_heavy_client(module):
    assert_imports_none(module, HEAVY, None)


# Deployed, a function loads only its own modules (DEPLOYED_ENTRY_POINT, shared.app.load): none of
# them loads a heavy client either, nor PyJWT and cryptography (shared.core.auth.jwt_library(), on
# first use: the routes that check a bearer token and the shop's signed metadata).
DEPLOYED = {"goals_api": "api", "shop_api": "api", "task_handler": "tasks", "media_encoder": "tasks",
            "goal_ended__notify_goal_ended": "receivers", "order_paid__fulfill_order": "receivers"}


@pytest.mark.parametrize("entry_point", sorted(DEPLOYED))
def test_a_deployed_function_imports_no_heavy_client_nor_jwt(entry_point):
    module = DEPLOYED[entry_point]
    assert app.targets()[entry_point]["source"] == f"functions/{module}.py"
    assert_imports_none(module, (*HEAVY, "jwt", "cryptography"), entry_point)
