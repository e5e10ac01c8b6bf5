"""Ticket purchases against one hot goal, and the same purchases spread over 16 goals, in one run.

1,000 purchases by 200 viewers from 16 concurrent HTTP clients (by default). Prints purchases/s
for each, their ratio (hot / spread), p50 and p95 latency, errors, and the consistency check:
progress == purchases == the sum of the breakdown == the escrow's holdings; the ledger balanced.
Starts its own stack; not part of the test suite.

    .venv/bin/python tests/benchmarks/ticket_purchases.py [purchases] [viewers] [clients]
"""
from __future__ import annotations

import concurrent.futures
import itertools
import pathlib
import statistics
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from shared import app  # noqa: E402
from tests.benchmarks.goal_ended_latency import p95  # noqa: E402
from tests.stack import running_stack  # noqa: E402
from tests.support import Api, User, create_funding_goal, start_session  # noqa: E402

TICKET = "livestream-show-ticket_134"


def run(api: Api, viewers: list[User], plan: list[tuple[dict, dict]], clients: int) -> dict:
    """Buy one ticket per (session, goal) in `plan`, `clients` at a time; viewers take turns."""
    turn, lock = itertools.cycle(viewers), threading.Lock()

    def purchase(item):
        session, goal = item
        with lock:
            viewer = next(turn)
        started = time.monotonic()
        response = api.call("POST", f"/sessions/{session['id']}/gifts", viewer,
                            json={"product_id": TICKET, "quantity": 1, "goal_id": goal["id"]})
        return response.status_code, time.monotonic() - started

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(purchase, plan))
    elapsed = time.monotonic() - started
    latencies = [seconds * 1000 for status, seconds in outcomes if status == 201]
    return {"rate": sum(1 for s, _ in outcomes if s == 201) / elapsed, "elapsed": elapsed,
            "errors": sum(1 for s, _ in outcomes if s != 201), "p50": statistics.median(latencies),
            "p95": p95(latencies)}


def consistent(api: Api, streamer: User, goals: list[dict], expected: int) -> str:
    from shared.ledger import service as ledger
    from shared.ledger.models import escrow

    progress = breakdown = held = 0
    for goal in goals:
        view = api.call("GET", f"/goals/{goal['id']}", streamer).json()
        progress += view["progress"]
        breakdown += sum(view["breakdown"].values())
        held += ledger.balance(escrow(f"show_funding:{goal['id']}"))
    totals = ledger.totals()
    ok = progress == breakdown == expected and held == expected * 89 and totals.balanced and not totals.negative_wallets
    return (f"{'consistent' if ok else 'INCONSISTENT'}: progress {progress}, breakdown {breakdown}, purchases "
            f"{expected}, escrow {held} (= {held // 89} tickets), ledger balanced {totals.balanced}")


def main() -> None:
    given = [int(a) for a in sys.argv[1:4]]
    purchases, viewer_count, clients = given + [1000, 200, 16][len(given):]
    app.load()
    with running_stack() as stack:
        print(f"stack healthy after {stack['healthy_after']:.1f} s; {purchases} purchases by {viewer_count} viewers, "
              f"{clients} clients")
        api, admin = Api(stack["api"]), User.new("role:admin")
        viewers = [User.new() for _ in range(viewer_count)]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda v: api.call("POST", f"/admin/users/{v.id}/diamonds", admin,
                                              json={"amount": 89 * purchases}), viewers))
        results = {}
        for name, goal_count in (("one hot goal", 1), ("spread over 16 goals", 16)):
            streamers = [User.new("role:creator") for _ in range(goal_count)]
            pairs = []
            for streamer in streamers:
                session = start_session(api, streamer)
                pairs.append((streamer, session, create_funding_goal(api, streamer, session["id"],
                                                                      int(time.time()) + 3600, target=10 ** 6)))
            plan = [(pairs[n % goal_count][1], pairs[n % goal_count][2]) for n in range(purchases)]
            results[name] = run(api, viewers, plan, clients)
            r = results[name]
            print(f"{name:22s} {r['rate']:7.1f} purchases/s  p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms  "
                  f"errors {r['errors']}  ({r['elapsed']:.1f} s)")
            per_goal = [sum(1 for s, _ in plan if s["id"] == session["id"]) for _, session, _ in pairs]
            checks = [consistent(api, streamer, [goal], count)
                      for (streamer, _, goal), count in zip(pairs, per_goal, strict=True)]
            bad = [c for c in checks if not c.startswith("consistent")]
            print(f"{'':22s} {len(checks) - len(bad)}/{len(checks)} goals consistent" + (f"; {bad[0]}" if bad else ""))
        ratio = results["one hot goal"]["rate"] / results["spread over 16 goals"]["rate"]
        print(f"ratio hot / spread: {ratio:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
