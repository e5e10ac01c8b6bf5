"""Latency from `DELETE /goals/{id}` to a websocket client receiving `goal.ended`.

Starts its own stack on free ports. The baseline, measured in the same run, is the transport
alone: a Pusher trigger from this process to the same websocket client.

    .venv/bin/python tests/benchmarks/goal_ended_latency.py [goals]
"""
from __future__ import annotations

import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from shared import app  # noqa: E402
from tests.stack import running_stack  # noqa: E402
from tests.support import Api, PusherSocket, User, create_funding_goal, start_session  # noqa: E402


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def summary(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{name:58s} median {statistics.median(ms):7.1f} ms   p95 {p95(ms):7.1f} ms   (n={len(ms)})"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    app.load()
    with running_stack() as stack:
        from shared.core import pusher

        print(f"stack healthy after {stack['healthy_after']:.1f} s")
        env = stack["env"]
        api, streamer = Api(stack["api"]), User.new("role:creator")
        session = start_session(api, streamer)
        sock = PusherSocket("127.0.0.1", int(env["PUSHER_PORT"]), env["PUSHER_KEY"])
        channel = f"private-stream@{streamer.id}"
        sock.subscribe(channel, pusher.authenticate(channel, sock.socket_id))

        baseline = []
        for i in range(count):
            sent = time.monotonic()
            pusher.trigger([channel], "bench.ping", {"i": i})
            baseline.append(sock.wait_for("bench.ping", where=lambda d, i=i: d.get("i") == i)[0] - sent)

        from_return, from_send = [], []
        for _ in range(count):
            goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
            sock.wait_for("goal.added", where=lambda d, goal=goal: d.get("goal_id") == goal["id"])
            sent = time.monotonic()
            response = api.call("DELETE", f"/goals/{goal['id']}", streamer)
            returned = time.monotonic()
            assert response.status_code == 200, response.text
            received = sock.wait_for("goal.ended", where=lambda d, goal=goal: d.get("goal_id") == goal["id"])[0]
            from_return.append(received - returned)
            from_send.append(received - sent)
        sock.close()

    print(summary("baseline: pusher trigger -> websocket", baseline))
    print(summary("DELETE /goals/{id} returned -> goal.ended on websocket", from_return))
    print(summary("DELETE /goals/{id} sent -> goal.ended on websocket", from_send))


if __name__ == "__main__":
    main()
