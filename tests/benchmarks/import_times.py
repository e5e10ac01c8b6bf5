"""Import time of each deployed entry point, against the framework alone, in fresh interpreters.

    .venv/bin/python tests/benchmarks/import_times.py [runs]
"""
from __future__ import annotations

import json
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROBE = """
import json, sys, time
sys.path.insert(0, 'functions')
t = time.perf_counter()
{statement}
took = time.perf_counter() - t
clients = sorted({{m.split('.')[2] for m in sys.modules if m.startswith('google.cloud.') and m.count('.') >= 2}})
print(json.dumps({{"ms": took * 1000, "google_cloud": clients}}))
"""
CASES = {
    "baseline: import functions_framework": "import functions_framework",
    "functions/api.py (every surface: sessions_api, goals_api, ...)": "import api",
    "functions/tasks.py (task_handler)": "import tasks",
    "functions/receivers.py (every receiver)": "import receivers",
    "reference: google.cloud.firestore": "import functions_framework; from google.cloud import firestore",
}


# Deployed code runs from compiled bytecode: allow the .pyc cache (a warm-up run writes it).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(statement: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(statement=statement)], cwd=ROOT,
                         capture_output=True, text=True, check=True, env=ENV).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(f"median of {runs} fresh interpreters; google.cloud packages loaded at import")
    baseline = None
    for name, statement in CASES.items():
        measure(statement)  # warm-up: bytecode cache
        samples = [measure(statement) for _ in range(runs)]
        ms = statistics.median(s["ms"] for s in samples)
        baseline = baseline or ms
        print(f"{ms:8.1f} ms  x{ms / baseline:4.2f}  {name:55s} {','.join(samples[0]['google_cloud']) or '-'}")


if __name__ == "__main__":
    main()
