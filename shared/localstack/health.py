"""Health checks that prove the right service answers (another process may own a default port).

    python -m shared.localstack.health tasks|pusher   exit 0 when healthy
"""
from __future__ import annotations

import sys

from shared.core import pusher, tasks
from shared.core.config import settings


def tasks_ok() -> bool:
    tasks._client().list_queues(parent=settings().queue_parent, timeout=2)
    return True


def pusher_ok() -> bool:
    info = pusher.client().channels_info()  # a signed request: right server and right credentials
    return isinstance(info, dict) and "channels" in info


CHECKS = {"tasks": tasks_ok, "pusher": pusher_ok}


def main() -> int:
    try:
        return 0 if CHECKS[sys.argv[1]]() else 1
    except Exception as exc:  # any failure means not healthy yet
        print(f"{sys.argv[1]}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
