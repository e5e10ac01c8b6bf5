"""Print the analytics events as they are published, one JSON line each (the local stand-in for
looking at the BigQuery table). Reads through a pull subscription of its own on
`analytics-events`, deleted on exit; so it shows what is published while it runs.

    eval "$(./emulators.sh env)" && .venv/bin/python -m shared.tools.analytics_tail [--seconds N]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from shared.core.config import settings


def tail(seconds: float | None, out=sys.stdout) -> int:
    from google.api_core.exceptions import DeadlineExceeded
    from google.cloud import pubsub_v1

    project = settings().project
    subscriber = pubsub_v1.SubscriberClient()
    topic = f"projects/{project}/topics/analytics-events"
    name = subscriber.subscription_path(project, f"analytics-tail-{os.getpid()}-{int(time.time())}")
    subscriber.create_subscription(request={"name": name, "topic": topic, "ack_deadline_seconds": 10})
    shown = 0
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while deadline is None or time.monotonic() < deadline:
            try:
                answer = subscriber.pull(request={"subscription": name, "max_messages": 100}, timeout=5)
            except DeadlineExceeded:  # nothing published meanwhile
                continue
            for received in answer.received_messages:
                out.write(json.dumps(json.loads(received.message.data), sort_keys=True) + "\n")
                shown += 1
            out.flush()
            if answer.received_messages:
                ack_ids = [m.ack_id for m in answer.received_messages]
                subscriber.acknowledge(request={"subscription": name, "ack_ids": ack_ids})
            else:
                time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        subscriber.delete_subscription(request={"subscription": name})
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    args = parser.parse_args()
    if not os.environ.get("PUBSUB_EMULATOR_HOST") and not os.environ.get("K_SERVICE"):
        print("no PUBSUB_EMULATOR_HOST: run `eval \"$(./emulators.sh env)\"` first, or use the BigQuery table",
              file=sys.stderr)
    tail(args.seconds)


if __name__ == "__main__":
    main()
