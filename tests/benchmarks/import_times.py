"""Import time of the deployed entry points, against the framework alone, in fresh interpreters.

    .venv/bin/python tests/benchmarks/import_times.py [runs]

A deployed function imports its entry file with DEPLOYED_ENTRY_POINT naming its entry point, so it
loads only its own modules (shared.app.load, functions/targets.json); without it (the local host,
and every function before per-function loading) an entry file loads every feature.

Each interpreter imports functions_framework first, then the entry file (or a reference), and
reports both times: a ratio is the whole import over functions_framework's in the same interpreter,
so the machine's other load moves both alike. Figures are CPU time (an import runs on one thread:
what a cold start pays), wall time after them; each the median over the runs. Printed:

- the baseline, `import functions_framework` (x1.00);
- each entry file with every feature loaded (no variable), for reference;
- a few deployed functions, each as its runtime imports it: the heaviest API surface, the goals'
  surface, the lightest (meta), the task handler, the media encoder (a worker), two receivers;
- every entry point (a sample of them when runs < 3), each the median of up to 3 interpreters:
  median, max and how many are at or under x1.5, per entry file and overall;
- references: the Firestore client, and pydantic with a first model class, which every function
  pays (the registry's models are built at import), so no function comes near x1.0.
"""
from __future__ import annotations

import json
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shared import app  # noqa: E402  (the repository root first)

PROBE = """
import json, sys, time
sys.path.insert(0, 'functions')
t, c = time.perf_counter(), time.process_time()
import functions_framework
base_cpu, base_ms = time.process_time() - c, time.perf_counter() - t
{statement}
cpu, took = time.process_time() - c, time.perf_counter() - t
clients = sorted({{m.split('.')[2] for m in sys.modules if m.startswith('google.cloud.') and m.count('.') >= 2}})
print(json.dumps({{"cpu": cpu * 1000, "ms": took * 1000, "x": cpu / base_cpu, "x_wall": took / base_ms,
                  "google_cloud": clients}}))
"""
BASELINE = ("baseline: import functions_framework", "pass")
EVERY_FEATURE = {
    "functions/api.py (every surface: sessions_api, goals_api, ...)": "import api",
    "functions/tasks.py (task_handler)": "import tasks",
    "functions/receivers.py (every receiver)": "import receivers",
}
# deployed functions shown one by one: entry point -> what it stands for
DEPLOYED = {
    "feeds_api": "the heaviest API surface",
    "goals_api": "the goals' routes",
    "meta_api": "the lightest",
    "task_handler": "the tasks without a worker",
    "media_encoder": "a worker",
    "goal_ended__notify_goal_ended": "a receiver",
    "goal_created__track_goals": "analytics: every tracked feature",
}
REFERENCES = {
    "reference: google.cloud.firestore": "from google.cloud import firestore",
    "reference: pydantic and a first model (every function has both)":
        "from pydantic import BaseModel\nclass First(BaseModel):\n    n: int",
}
TARGET = 1.5  # the ratio a deployed function aims at
SAMPLE = 12  # entry points measured in a quick run (runs < 3)

# Deployed code runs from compiled bytecode: allow the .pyc cache (the every-feature warm-up writes it).
ENV = {k: v for k, v in os.environ.items()
       if k not in ("PYTHONDONTWRITEBYTECODE", app.ENTRY_POINT_VARIABLE, "FUNCTION_TARGET", "K_SERVICE")}


def measure(statement: str, entry_point: str | None = None) -> dict:
    env = ENV if entry_point is None else {**ENV, app.ENTRY_POINT_VARIABLE: entry_point}
    out = subprocess.run([sys.executable, "-c", PROBE.format(statement=statement)], cwd=ROOT,
                         capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(out.splitlines()[-1])


def median(statement: str, runs: int, entry_point: str | None = None) -> dict:
    samples = [measure(statement, entry_point) for _ in range(runs)]
    return {key: statistics.median(s[key] for s in samples) for key in ("cpu", "ms", "x", "x_wall")} | {
        "google_cloud": samples[0]["google_cloud"]}


def statement(target: dict) -> str:
    return f"import {pathlib.Path(target['source']).stem}"


def line(figures: dict, name: str) -> str:
    return (f"{figures['cpu']:8.1f} ms  x{figures['x']:4.2f}  {name:66s} "
            f"wall {figures['ms']:6.1f} ms x{figures['x_wall']:4.2f}  {','.join(figures['google_cloud']) or '-'}")


def summary(ratios: dict[str, float]) -> str:
    values = sorted(ratios.values())
    worst = max(ratios, key=ratios.__getitem__)
    under = sum(r <= TARGET for r in values)
    return (f"median x{statistics.median(values):4.2f}  max x{values[-1]:4.2f} ({worst})  "
            f"{under}/{len(values)} at or under x{TARGET}")


def sample(targets: dict[str, dict], count: int) -> list[str]:
    """About `count` entry points, spread over each entry file's in proportion (at least one each)."""
    chosen = []
    for source in sorted({t["source"] for t in targets.values()}):
        names = sorted(ep for ep, t in targets.items() if t["source"] == source)
        step = max(1, round(len(targets) / count))
        chosen += names[::step] if len(names) >= step else names[:1]
    return chosen


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    targets = app.targets()
    print(f"median of {runs} fresh interpreters: CPU time of the import, then wall time; "
          "google.cloud packages loaded at import")
    for statement_ in [BASELINE[1], *EVERY_FEATURE.values()]:
        measure(statement_)  # warm-up: the bytecode cache of every module
    print(line(median(BASELINE[1], runs), BASELINE[0]))

    print(f"every feature (no {app.ENTRY_POINT_VARIABLE}: the local host; each deployed function before "
          "per-function loading)")
    for name, statement_ in EVERY_FEATURE.items():
        print(line(median(statement_, runs), name))

    print(f"deployed ({app.ENTRY_POINT_VARIABLE} set: the function's own modules)")
    for entry_point, what in DEPLOYED.items():
        target = targets[entry_point]
        print(line(median(statement(target), runs, entry_point), f"{target['source']} {entry_point} ({what})"))

    names = sorted(targets)
    chosen = names if runs >= 3 else sample(targets, SAMPLE)
    each = min(runs, 3)
    ratios: dict[str, dict[str, float]] = {}
    for entry_point in chosen:
        figures = median(statement(targets[entry_point]), each, entry_point)
        ratios.setdefault(targets[entry_point]["source"], {})[entry_point] = figures["x"]
    every = {ep: r for by_file in ratios.values() for ep, r in by_file.items()}
    what = "every entry point" if chosen == names else f"a sample of {len(chosen)} of the {len(names)} entry points"
    print(f"{what} deployed, median of {each} interpreter{'s' * (each > 1)} each (CPU time):")
    for source, by_file in sorted(ratios.items()):
        print(f"  {source:24s} {len(by_file):3d}  {summary(by_file)}")
    print(f"  {'all':24s} {len(every):3d}  {summary(every)}")

    for name, statement_ in REFERENCES.items():
        print(line(median(statement_, runs), name))


if __name__ == "__main__":
    main()
