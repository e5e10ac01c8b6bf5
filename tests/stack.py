"""Starts a private copy of the local stack on free ports (./emulators.sh start) and stops it."""
from __future__ import annotations

import contextlib
import os
import pathlib
import shlex
import socket
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
PORT_VARS = ("API_PORT", "FIRESTORE_PORT", "PUBSUB_PORT", "TASKS_PORT", "STORAGE_PORT", "PUSHER_PORT", "PUSHER_METRICS_PORT",
             "RTC_PORT", "SONET_PORT")


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def reset_clients() -> None:
    """Forget cached settings and clients so they are rebuilt from the stack's environment."""
    from shared.core import config, firestore, signals, tasks
    from shared.core import pusher
    from shared.rtc import byteplus
    from shared.shop import sonet

    for cached in (config.settings, firestore.db, signals._publisher, tasks._client, pusher.client, byteplus._session,
                   sonet._session):
        cached.cache_clear()


@contextlib.contextmanager
def running_stack():
    with tempfile.TemporaryDirectory(prefix="stack-") as state:
        env = {**os.environ, "STACK_DIR": state, **dict(zip(PORT_VARS, map(str, free_ports(len(PORT_VARS))))),
               "TICK_SECONDS": "2", "STEPS_SWEEP_AFTER": "3",  # a fast local Cloud Scheduler
               # 1-on-1 deadlines short enough to wait for (the defaults are 120 s and 65 s)
               "EXCLUSIVE_ANSWER_SECONDS": "6", "EXCLUSIVE_START_GRACE": "4",
               "SHOP_ORDER_TTL_SECONDS": "12"}  # an unpaid order expires within a test's patience
        script = str(ROOT / "emulators.sh")
        started = time.monotonic()
        try:
            subprocess.run([script, "start"], env=env, check=True, timeout=300)
            seconds = time.monotonic() - started
            exports = subprocess.run([script, "env"], env=env, check=True, capture_output=True, text=True).stdout
            values = dict(shlex.split(line)[1].split("=", 1) for line in exports.splitlines() if line.startswith("export "))
            saved = {k: os.environ.get(k) for k in values}
            os.environ.update(values)
            reset_clients()
            try:
                yield {"env": values, "state_dir": state, "healthy_after": seconds, "api": values["API_URL"]}
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
                reset_clients()
        finally:
            subprocess.run([script, "stop"], env=env, timeout=120)
