"""The local stand-in for Cloud Scheduler: publishes `maintenance.tick` to the Pub/Sub emulator."""
from __future__ import annotations

import argparse
import time

from shared import app
from shared.core import signals
from shared.maintenance import TICK, Tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between ticks")
    args = parser.parse_args()
    app.load()
    while True:
        try:
            signals.publish(TICK, Tick())
            print("tick published", flush=True)
        except Exception as exc:  # keep ticking through an emulator hiccup, as Cloud Scheduler would
            print(f"tick failed: {exc!r}", flush=True)
        time.sleep(args.every)


if __name__ == "__main__":
    main()
