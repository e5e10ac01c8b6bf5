"""Every benchmark, run as by hand with small arguments, exits 0 and prints its figures.

Not a measurement: a smoke run that keeps each script working. Each runs in a subprocess from
the repository root; the ones that start their own stack (all but import_times.py) start it here
too, on free ports, whatever stack this run's fixture has exported (its variables are taken out of
the subprocess's environment, so a benchmark cannot reach it by mistake).
"""
from __future__ import annotations

import ast
import os
import pathlib
import re
import signal
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
N = r"\d+(?:\.\d+)?"  # a figure


def timing(label: str, n: int, unit: str = "ms") -> str:
    """A `summary()` line: label, median, p95 (or max and min), sample count."""
    return rf"^{re.escape(label)}\s+median\s+{N} {unit}\s+(p95|max)\s+{N} {unit}.*\(n={n}\)"


# script -> (arguments, what its output must show: one regular expression per figures line)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "import_times.py": (["1"], [
        rf"^\s*{N} ms\s+x{N}\s+{re.escape(name)}" for name in (
            "baseline: import functions_framework", "functions/api.py", "functions/tasks.py",
            "functions/receivers.py", "reference: google.cloud.firestore")]),
    "goal_ended_latency.py": (["3"], [
        timing("baseline: pusher trigger -> websocket", 3),
        timing("DELETE /goals/{id} returned -> goal.ended on websocket", 3),
        timing("DELETE /goals/{id} sent -> goal.ended on websocket", 3)]),
    "contention.py": (["4", "1"], [
        timing(name, 4) + rf"\s+max\s+{N} ms\s+statuses \{{.*\}}$" for name in (
            "POST /sessions (one streamer)", "POST /goals (one session)", "DELETE /goals/{id} (one goal)",
            "DELETE /sessions/{id} (one session)")]),
    "ticket_purchases.py": (["16", "4", "4"], [
        rf"^{re.escape(name)}\s+{N} purchases/s\s+p50\s+{N} ms\s+p95\s+{N} ms\s+errors \d+" for name in (
            "one hot goal", "spread over 16 goals")] + [
        r"^\s+1/1 goals consistent$", r"^\s+16/16 goals consistent$", rf"^ratio hot / spread: {N}"]),
    "leaderboard_gifts.py": (["10", "4", "2"], [
        rf"^{re.escape(name)}\s+{N} gifts/s\s+p50\s+{N} ms\s+p95\s+{N} ms\s+errors \d+" for name in (
            "4 supporters", "one supporter")] + [
        rf"^\s+board == ledger\s+{N} s after the last gift \(exact\); {N} spends/s counted end to end$",
        r"^\s+leaderboard\.updated: \d+ pushes, at most \d+ in one second, largest \d+ bytes$",
        rf"^spends counted per second, one supporter / 4: {N}; catch-up after the burst: {N} s vs {N} s$"]),
    "encode_pipeline.py": (["1", "--seconds", "4", "--size", "320x180"], [
        r"^clip: 4 s 320x180 h264/aac",
        rf"^round 1: bare {N} s, encode job {N} s \({N}x\), upload to ready {N} s$",
        timing("bare ffmpeg commands", 1, "s"),
        timing("encode job (read, commands, write, record)", 1, "s"),
        timing("upload PUT -> post ready", 1, "s"),
        rf"^encode job / bare commands: median {N}x, max {N}x"]),
}
STARTS_ITS_OWN_STACK = set(BENCHMARKS) - {"import_times.py"}
TIMEOUT = 600  # seconds; a run takes 5-35 s here, most of it its stack starting


def run(script: str, args: list[str], hidden: set[str]) -> tuple[int, str]:
    """Run the benchmark; on a timeout interrupt it first (Ctrl-C: it stops the stack it started)."""
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    proc = subprocess.Popen([sys.executable, str(HERE / script), *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        pytest.fail(f"{script} did not finish in {TIMEOUT} s:\n{out[-4000:]}")
    return proc.returncode, out


def check(script: str, code: int, out: str) -> None:
    assert code == 0, f"{script} exited {code}:\n{out[-4000:]}"
    lines = out.splitlines()
    missing = [p for p in BENCHMARKS[script][1] if not any(re.search(p, line) for line in lines)]
    assert missing == [], f"{script} did not print {missing}:\n{out[-4000:]}"
    for statuses in re.findall(r"statuses (\{.*\})", out):  # contention: one winner and 409s, never a 5xx
        assert all(status < 500 for status in ast.literal_eval(statuses)), f"{script}: {statuses}\n{out[-4000:]}"


def test_every_benchmark_has_a_smoke_run():
    scripts = {p.name for p in HERE.glob("*.py") if p.name != "__init__.py" and not p.name.startswith("test_")}
    assert scripts == set(BENCHMARKS)


def test_import_times():
    check("import_times.py", *run("import_times.py", BENCHMARKS["import_times.py"][0], set()))


@pytest.mark.stack
@pytest.mark.parametrize("script", sorted(STARTS_ITS_OWN_STACK))
def test_benchmark_with_its_own_stack(script, stack):
    check(script, *run(script, BENCHMARKS[script][0], set(stack["env"])))
