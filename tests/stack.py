"""The tests' stack: the running one whose environment is exported (`eval "$(./emulators.sh env)"`),
once it is checked healthy and on the tests' timers, or else a private copy of the local stack on
free ports (`./emulators.sh start --test`), stopped at the end."""
from __future__ import annotations

import contextlib
import os
import pathlib
import random
import shlex
import socket
import subprocess
import tempfile
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = str(ROOT / "emulators.sh")
SETTINGS_FILE = ROOT / "tests" / "stack.env"
PORT_VARS = ("API_PORT", "FIRESTORE_PORT", "PUBSUB_PORT", "TASKS_PORT", "STORAGE_PORT", "PUSHER_PORT",
             "PUSHER_METRICS_PORT", "RTC_PORT", "SONET_PORT")
SERVICE = "livestream-backend"  # what the functions host's /healthz names
START_ATTEMPTS = 3
HOW = ('start one with `./emulators.sh start --test && eval "$(./emulators.sh env)"`, '
       "or `unset API_URL` to have the tests start their own")


def load_settings() -> dict[str, str]:
    """The short timers the tests rely on (tests/stack.env, which `./emulators.sh start --test` reads too)."""
    values = {}
    for line in SETTINGS_FILE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


TEST_SETTINGS = load_settings()


class StackUnusable(Exception):
    """The exported stack cannot be used by the tests; the message says why and what to do."""


def free_ports(count: int) -> list[int]:
    """Ports free now, below the ephemeral range (where every outgoing connection takes its port, and
    where the OS would hand the same free port to stacks starting at once), picked at random."""
    try:
        low = int(pathlib.Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    ports: list[int] = []
    while len(ports) < count:
        port = random.randrange(10000, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        if port not in ports:
            ports.append(port)
    return ports


def reset_clients() -> None:
    """Forget cached settings and clients so they are rebuilt from the stack's environment."""
    from shared.core import config, firestore, pusher, signals, tasks
    from shared.rtc import byteplus
    from shared.shop import sonet

    for cached in (config.settings, firestore.db, signals._publisher, tasks._client, pusher.client, byteplus._session,
                   sonet._session):
        cached.cache_clear()


def stack_env(env: dict[str, str]) -> dict[str, str]:
    """What `./emulators.sh env` exports for the stack of env's STACK_DIR (as that stack was started)."""
    exports = subprocess.run([SCRIPT, "env"], env=env, check=True, capture_output=True, text=True, timeout=60).stdout
    return dict(shlex.split(line)[1].split("=", 1) for line in exports.splitlines() if line.startswith("export "))


def wrong_settings(values: dict[str, str]) -> dict[str, str | None]:
    """The tests' settings this stack does not have, with what it has instead."""
    return {name: values.get(name) for name, wanted in TEST_SETTINGS.items() if values.get(name) != wanted}


@contextlib.contextmanager
def using(values: dict[str, str], **about):
    """The stack's environment in os.environ (clients rebuilt from it) while the tests use it."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    reset_clients()
    try:
        yield {"env": values, "api": values["API_URL"], "state_dir": values.get("STACK_DIR"), **about}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_clients()


@contextlib.contextmanager
def running_stack():
    """A private stack on free ports with the tests' settings, stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="stack-") as state:
        started, env = time.monotonic(), {**os.environ, "STACK_DIR": state}  # stop: only this stack, whatever happens
        try:
            for attempt in range(1, START_ATTEMPTS + 1):  # a port another process took meanwhile: new ports
                ports = dict(zip(PORT_VARS, map(str, free_ports(len(PORT_VARS))), strict=True))
                env = {**os.environ, "STACK_DIR": state, **ports}
                try:
                    subprocess.run([SCRIPT, "start", "--test"], env=env, check=True, timeout=300)
                    break
                except subprocess.CalledProcessError:  # it stopped what it had started
                    if attempt == START_ATTEMPTS:
                        raise
            seconds = time.monotonic() - started
            values = stack_env(env)
            wrong = wrong_settings(values)
            assert not wrong, f"{SCRIPT} start --test did not apply {SETTINGS_FILE}: {wrong}"
            with using(values, healthy_after=seconds, reused=False) as stack:
                yield stack
        finally:
            subprocess.run([SCRIPT, "stop"], env=env, timeout=120)


def exported_stack() -> dict[str, str]:
    """The environment of the running stack that os.environ names (API_URL, STACK_DIR), once it is
    healthy and runs with the tests' settings; else StackUnusable says what is wrong."""
    api = os.environ["API_URL"]
    try:
        health = requests.get(f"{api}/healthz", timeout=5)
        answer = f"{health.status_code} {health.text[:200]}"
        healthy = health.status_code == 200 and health.json().get("service") == SERVICE
    except (requests.RequestException, ValueError) as exc:
        answer, healthy = type(exc).__name__, False
    if not healthy:
        raise StackUnusable(f"API_URL={api} is exported, but no healthy stack answers GET {api}/healthz "
                            f"({answer}): {HOW}")
    status = subprocess.run([SCRIPT, "status"], env=os.environ, capture_output=True, text=True, timeout=120)
    state_dir = os.environ.get("STACK_DIR", str(ROOT / ".stack"))
    if status.returncode != 0:
        raise StackUnusable(f"the stack in STACK_DIR={state_dir} is not healthy:\n{status.stdout}{status.stderr}{HOW}")
    values = stack_env(dict(os.environ))
    if values["API_URL"] != api:
        raise StackUnusable(f"API_URL={api} is exported, but the stack in STACK_DIR={state_dir} serves "
                            f"{values['API_URL']}: export its environment again (eval \"$(./emulators.sh env)\")")
    if wrong := wrong_settings(values):
        has = ", ".join(f"{name}={value}" for name, value in wrong.items())
        wants = " ".join(f"{name}={value}" for name, value in TEST_SETTINGS.items())
        raise StackUnusable(f"the running stack at {api} has {has}, not the tests' settings ({wants}, "
                            f"tests/stack.env): restart it with `./emulators.sh stop && ./emulators.sh start --test`, "
                            "or `unset API_URL` to have the tests start their own")
    return values
