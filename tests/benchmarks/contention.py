"""Contention on one resource: 20 callers at once on one goal, one session, one streamer.

Prints, per scenario, the statuses and the latency of each caller (median, p95, max); the
target is one winner, prompt 409s and no 5xx, p95 under 2 s. Starts its own stack.

    .venv/bin/python tests/benchmarks/contention.py [callers] [rounds]
"""
from __future__ import annotations

import collections
import concurrent.futures
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from shared import app  # noqa: E402
from tests.benchmarks.goal_ended_latency import summary  # noqa: E402
from tests.stack import running_stack  # noqa: E402
from tests.support import Api, User, funding_body, start_session  # noqa: E402


def at_once(callers: int, call) -> list[tuple[int, float]]:
    def timed(_):
        started = time.monotonic()
        status = call().status_code
        return status, time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(callers) as pool:
        return list(pool.map(timed, range(callers)))


def main() -> None:
    callers = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    app.load()
    with running_stack() as stack:
        print(f"stack healthy after {stack['healthy_after']:.1f} s; {callers} callers, {rounds} rounds")
        api = Api(stack["api"])
        results: dict[str, list[tuple[int, float]]] = collections.defaultdict(list)
        for _ in range(rounds):
            streamer = User.new("role:creator")
            results["POST /sessions (one streamer)"] += at_once(
                callers, lambda streamer=streamer: api.call("POST", "/sessions", streamer, json={}))
            streamer = User.new("role:creator")
            session = start_session(api, streamer)
            body = funding_body(session["id"], int(time.time()) + 600)
            results["POST /goals (one session)"] += at_once(
                callers,
                lambda streamer=streamer, body=body: api.call(
                    "POST", "/goals?type=show-funding", streamer, json=body))
            goal = api.call("GET", f"/sessions/{session['id']}", streamer).json()["open_goals"][0]
            results["DELETE /goals/{id} (one goal)"] += at_once(
                callers, lambda goal=goal, streamer=streamer: api.call("DELETE", f"/goals/{goal}", streamer))
            results["DELETE /sessions/{id} (one session)"] += at_once(
                callers,
                lambda session=session, streamer=streamer: api.call(
                    "DELETE", f"/sessions/{session['id']}", streamer))
        for name, outcomes in results.items():
            statuses = collections.Counter(status for status, _ in outcomes)
            print(summary(name, [seconds for _, seconds in outcomes]),
                  f"  max {max(s for _, s in outcomes) * 1000:6.0f} ms   statuses {dict(sorted(statuses.items()))}")


if __name__ == "__main__":
    main()
