"""A burst of gifts into one session: does its leaderboard keep up, and does it serialise?

1,000 gifts (10 diamonds each) by 200 supporters from 16 concurrent HTTP clients (by default);
each client sends for its own supporters, so no two gifts of one wallet race. Prints gifts/s,
p50 and p95 latency, errors, the time from the last gift's answer until the session's board
(every supporter, read from Firestore) equals the ledger's spend per supporter, the pushes of
`leaderboard.updated` seen on the stream channel (count, most in one second, largest), and the
same burst from one supporter (one client: a wallet is one document, so its gifts queue anyway),
where every spend increments the same supporter documents, with the ratio of the two catch-up
rates. Starts its own stack; not part of the test suite.

    .venv/bin/python tests/benchmarks/leaderboard_gifts.py [gifts] [supporters] [clients]
"""
from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from shared import app  # noqa: E402
from tests.benchmarks.goal_ended_latency import p95  # noqa: E402
from tests.stack import running_stack  # noqa: E402
from tests.support import Api, PusherSocket, User, start_session  # noqa: E402

ROSE, PRICE = "livestream-gift-rose_10", 10
PROVISION = 100_000


def burst(api: Api, session_id: str, supporters: list[User], gifts: int, clients: int) -> dict:
    """`gifts` gifts, `clients` at a time; client n sends for supporters n, n + clients, ..."""
    lanes = [[supporters[(c + k * clients) % len(supporters)] for k in range(gifts // clients + 1)]
             for c in range(clients)]
    plan = [lanes[n % clients][n // clients] for n in range(gifts)]
    per_lane = [[who for n, who in enumerate(plan) if n % clients == c] for c in range(clients)]

    def send_lane(lane: list[User]) -> list[tuple[int, float]]:
        out = []
        for supporter in lane:
            started = time.monotonic()
            response = api.call("POST", f"/sessions/{session_id}/gifts", supporter, json={"product_id": ROSE})
            out.append((response.status_code, time.monotonic() - started))
        return out

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        outcomes = [o for lane in pool.map(send_lane, [lane for lane in per_lane if lane]) for o in lane]
    ended = time.monotonic()
    latencies = [seconds * 1000 for status, seconds in outcomes if status == 201]
    return {"rate": len(latencies) / (ended - started), "elapsed": ended - started, "ended": ended,
            "errors": sum(1 for s, _ in outcomes if s != 201), "p50": statistics.median(latencies),
            "p95": p95(latencies) if len(latencies) > 1 else latencies[0], "sent": len(latencies)}


def board(session_id: str) -> dict[str, int]:
    from shared.leaderboards import service

    supporters = (service.db().collection(service.BOARDS).document(f"session:{session_id}")
                  .collection(service.SUPPORTERS))
    return {snap.id: snap.get("amount") for snap in supporters.stream()}


def ledger_spent(supporters: list[User]) -> dict[str, int]:
    from shared.ledger import service as ledger
    from shared.ledger.models import wallet

    return {s.id: PROVISION - ledger.balance(wallet(s.id)) for s in {s.id: s for s in supporters}.values()}


def caught_up(session_id: str, supporters: list[User], since: float, timeout: float = 300) -> tuple[float, bool]:
    """Seconds from `since` until the board equals the ledger (checked every 0.2 s)."""
    expected = ledger_spent(supporters)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if board(session_id) == expected:
            return time.monotonic() - since, True
        time.sleep(0.2)
    return time.monotonic() - since, False


def run(api: Api, name: str, supporters: list[User], gifts: int, clients: int) -> dict:
    from shared.core import pusher

    streamer = User.new("role:creator")
    session = start_session(api, streamer)
    channel = f"private-stream@{streamer.id}"
    sock = PusherSocket("127.0.0.1", int(os.environ["PUSHER_PORT"]), os.environ["PUSHER_KEY"])
    sock.subscribe(channel, pusher.client().authenticate(channel, sock.socket_id))
    started = time.monotonic()
    r = burst(api, session["id"], supporters, gifts, clients)
    lag, ok = caught_up(session["id"], supporters, r["ended"])
    r |= {"lag": lag, "ok": ok, "applied_rate": r["sent"] / (r["ended"] + lag - started)}
    time.sleep(1.5)  # the last window's push
    pushes = [item for item in sock.received if item[2] == "leaderboard.updated"]
    sock.close()
    per_second = collections.Counter(int(at) for at, *_ in pushes)
    biggest = max((len(json.dumps(item[3])) for item in pushes), default=0)
    print(f"{name:16s} {r['rate']:6.1f} gifts/s  p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms  errors {r['errors']}  "
          f"({r['elapsed']:.1f} s)")
    print(f"{'':16s} board == ledger {lag:5.1f} s after the last gift ({'exact' if ok else 'NOT EQUAL'}); "
          f"{r['applied_rate']:.1f} spends/s counted end to end")
    print(f"{'':16s} leaderboard.updated: {len(pushes)} pushes, at most {max(per_second.values(), default=0)} "
          f"in one second, largest {biggest} bytes")
    return r


def main() -> None:
    given = [int(a) for a in sys.argv[1:4]]
    gifts, supporter_count, clients = given + [1000, 200, 16][len(given):]
    app.load()
    with running_stack() as stack:
        print(f"stack healthy after {stack['healthy_after']:.1f} s; {gifts} gifts by {supporter_count} supporters, "
              f"{clients} clients, one session")
        api, admin = Api(stack["api"]), User.new("role:admin")
        supporters = [User.new() for _ in range(supporter_count + 1)]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda s: api.call("POST", f"/admin/users/{s.id}/diamonds", admin,
                                              json={"amount": PROVISION}), supporters))
        many = run(api, f"{supporter_count} supporters", supporters[:-1], gifts, clients)
        # one client: 16 at once on one wallet document time out in the emulator's pessimistic locks
        one = run(api, "one supporter", supporters[-1:], gifts, 1)
        print(f"spends counted per second, one supporter / {supporter_count}: "
              f"{one['applied_rate'] / many['applied_rate']:.2f}; catch-up after the burst: "
              f"{many['lag']:.1f} s vs {one['lag']:.1f} s")


if __name__ == "__main__":
    main()
