"""Karaoke gifts over HTTP and websockets (seed 004): a `karaoke-` gift holds its price in its
goal's escrow; per session one runs at a time in the order sent; the one running ends by its
duration or the streamer's `done` and pays out (less the platform's share), a skipped one or one
cut short by the session's end is refunded to its sender."""
from __future__ import annotations

import time

import pytest

from shared.goals import service as goals
from shared.ledger import book
from shared.ledger import service as ledger
from shared.ledger.models import escrow
from tests.e2e.helpers import balance, for_goal, provision, settlement
from tests.support import User, settled, start_session, wait_until

pytestmark = pytest.mark.stack
BUZZ, TOY = "karaoke-toy-buzz-3s", "karaoke-toy-30s"  # 30 diamonds for 3 s, 100 for 30 s
PRICE = {BUZZ: 30, TOY: 100}


def fee(amount: int) -> int:
    return amount * 30 // 100


def send(api, viewer: User, session: dict, product: str, **extra):
    return api.call("POST", f"/sessions/{session['id']}/gifts", viewer, json={"product_id": product, **extra})


def sent(api, viewer: User, session: dict, product: str) -> str:
    response = send(api, viewer, session, product)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["amount"], receipt["held"]) == (PRICE[product], True), receipt
    assert receipt["transfer_id"] == f"karaoke:{receipt['goal_id']}"
    return receipt["goal_id"]


def karaoke(api, user: User, goal_id: str, action: str):
    return api.call("POST", f"/goals/{goal_id}/karaoke/{action}", user)


def earnings(api, streamer: User) -> int:
    return api.call("GET", "/wallet", streamer).json()["earnings"]


def paid(goal_id: str, amount: int) -> None:
    """The hold was posted: the streamer's part to earnings, the platform's share to revenue."""
    wait_until(lambda: book.load(f"karaoke:{goal_id}").state == "posted", timeout=20, what=f"the payout of {goal_id}")
    assert book.load(f"karaoke:{goal_id}:post").amount == amount - fee(amount)
    assert book.load(f"karaoke:{goal_id}:fee").amount == fee(amount)
    assert ledger.balance(escrow(f"karaoke:{goal_id}")) == 0


def test_karaoke_gifts_run_queue_complete_pay_and_a_skipped_one_is_refunded(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    viewer = User.new()
    provision(api, viewer, 1000)
    sock = pusher_socket(f"private-stream@{streamer.id}")
    viewer_sock = pusher_socket(f"private-user@{viewer.id}")

    first = sent(api, viewer, session, BUZZ)
    second = sent(api, viewer, session, TOY)
    assert balance(api, viewer) == 1000 - 30 - 100
    running, queued = (api.call("GET", f"/goals/{g}", streamer).json() for g in (first, second))
    assert running["active"] and running["started_at"] is not None and running["exp"] - running["nbf"] == 3
    assert queued["active"] and queued["started_at"] is None and queued["exp"] is None
    assert running["context"]["sender_id"] == viewer.id and running["amount"] == 30
    added = sock.wait_for("goal.added", where=for_goal(second))[3]
    assert (added["type"], added["started_at"], added["duration"]) == ("karaoke", None, 30)
    assert sock.wait_for("goal.added", where=for_goal(first))[3]["started_at"] is not None
    assert ledger.balance(escrow(f"karaoke:{first}")) == 30

    # the first ends by its duration and pays; then the second's turn comes
    sock.wait_for("goal.ended", where=for_goal(first), timeout=20)
    assert settlement(first).outcome == "payout"
    paid(first, 30)
    started = sock.wait_for("karaoke.started", where=for_goal(second), timeout=20)[3]
    assert started["active"] and started["started_at"] is not None and started["exp"] == int(started["started_at"]) + 30
    assert api.call("GET", f"/goals/{second}", streamer).json()["started_at"] == started["started_at"]
    wait_until(lambda: earnings(api, streamer) == 30 - fee(30), what="the first payout")

    # a non-owner may not end it; a viewer has no creator scope; done ends it early and pays
    other = User.new("role:creator")
    assert karaoke(api, other, second, "done").status_code == 403
    assert karaoke(api, viewer, second, "skip").status_code == 403
    done = karaoke(api, streamer, second, "done")
    assert done.status_code == 200, done.text
    assert done.json()["done_at"] is not None and done.json()["active"] is False
    repeated = karaoke(api, streamer, second, "done")
    assert repeated.status_code == 409 and repeated.json()["error"]["code"] == "goal_ended"
    assert settlement(second).outcome == "payout"
    paid(second, 100)
    sock.wait_for("goal.ended", where=for_goal(second))
    wait_until(lambda: earnings(api, streamer) == 130 - fee(30) - fee(100), what="the second payout")

    # the queue is empty: a third runs at once, the streamer skips it and it is refunded
    third = sent(api, viewer, session, TOY)
    assert api.call("GET", f"/goals/{third}", streamer).json()["started_at"] is not None
    assert balance(api, viewer) == 1000 - 230
    skipped = karaoke(api, streamer, third, "skip")
    assert skipped.status_code == 200 and skipped.json()["skipped"] is True
    assert settlement(third).outcome == "refund"
    refunded = viewer_sock.wait_for("escrow.refunded", timeout=20)[3]
    assert (refunded["amount"], refunded["goal_id"]) == (100, third)
    wait_until(lambda: balance(api, viewer) == 1000 - 130, what="the refund")
    assert karaoke(api, streamer, third, "done").status_code == 409

    # everything delivered again: the same balances, settlements, goals and events
    from shared.core import signals, steps, tasks
    from shared.goals.models import DeactivateGoalArgs
    from shared.goals.tasks import DEACTIVATE_GOAL

    settled()
    before = ([balance(api, viewer), earnings(api, streamer)],
              [goals.load(g).model_dump() for g in (first, second, third)],
              [sock.count(e) for e in ("goal.added", "goal.ended", "karaoke.started")],
              viewer_sock.count("escrow.refunded"))
    for goal_id in (first, second, third):
        goal = goals.load(goal_id)
        signals.publish("goal.created", goal.created_event())
        signals.publish("goal.ended", goal.ended_event())
        tasks.schedule(DEACTIVATE_GOAL, DeactivateGoalArgs(goal_id=goal_id), at=time.time())
    keys = [f"{r}@goal.ended:{g}" for r in ("settle_karaoke_escrow", "advance_karaoke_queue") for g in (first, second)]
    keys += [f"deactivate_goal:{g}" for g in (first, second, third)]
    wait_until(lambda: all((steps.stored(k) or {}).get("repeats", 0) >= 1 for k in keys), timeout=30,
               what="the repeated deliveries")
    settled()
    after = ([balance(api, viewer), earnings(api, streamer)],
             [goals.load(g).model_dump() for g in (first, second, third)],
             [sock.count(e) for e in ("goal.added", "goal.ended", "karaoke.started")],
             viewer_sock.count("escrow.refunded"))
    assert after == before


def test_the_session_ending_refunds_the_running_and_the_queued_ones(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    viewer = User.new()
    provision(api, viewer, 500)
    sock = pusher_socket(f"private-stream@{streamer.id}")
    running, queued = sent(api, viewer, session, TOY), sent(api, viewer, session, BUZZ)
    assert balance(api, viewer) == 370
    ended = api.call("DELETE", f"/sessions/{session['id']}", streamer)
    assert ended.status_code == 200, ended.text
    assert settlement(running).outcome == "refund" and settlement(queued).outcome == "refund"
    wait_until(lambda: balance(api, viewer) == 500, timeout=20, what="both refunds")
    for goal_id in (running, queued):
        sock.wait_for("goal.ended", where=for_goal(goal_id), timeout=20)
    assert goals.load(queued).started_at is None  # its turn never came
    assert earnings(api, streamer) == 0
    settled()
    assert sock.count("karaoke.started") == 0


def test_a_karaoke_gift_outside_a_live_session_is_refused_and_changes_nothing(api, streamer):
    session = start_session(api, streamer)
    viewer = User.new()
    provision(api, viewer, 200)
    many = send(api, viewer, session, TOY, quantity=2)
    assert many.status_code == 400, many.text
    with_goal = send(api, viewer, session, TOY, goal_id=session["id"])
    assert with_goal.status_code == 400, with_goal.text
    assert api.call("DELETE", f"/sessions/{session['id']}", streamer).status_code == 200
    refused = send(api, viewer, session, TOY)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "session_not_active", refused.text
    poor = User.new()
    live = start_session(api, User.new("role:creator"))
    provision(api, poor, 50)
    broke = send(api, poor, live, TOY)
    assert broke.status_code == 409 and broke.json()["error"]["code"] == "insufficient_funds", broke.text
    assert balance(api, viewer) == 200 and balance(api, poor) == 50
    assert api.call("GET", "/wallet", viewer).json()["holds"] == []


def test_concurrent_karaoke_gifts_queue_up_one_running(api, streamer):
    import concurrent.futures

    from shared.goals import karaoke as karaoke_goals
    from shared.goals.karaoke_rules import KaraokeQueue

    session = start_session(api, streamer)
    viewers = [User.new() for _ in range(6)]
    for viewer in viewers:
        provision(api, viewer, 200)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(lambda v: send(api, v, session, TOY), viewers))
    assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
    sent_ids = {r.json()["goal_id"] for r in responses}
    stored = {g: goals.load(g) for g in sent_ids}
    assert sum(1 for g in stored.values() if g.started_at is not None) == 1
    snap = karaoke_goals.queue_ref(session["id"]).get()
    queue = KaraokeQueue.from_document(snap.to_dict())
    assert stored[queue.running].started_at is not None and {queue.running, *queue.waiting} == sent_ids
    assert len(queue.waiting) == 5
    assert api.call("DELETE", f"/sessions/{session['id']}", streamer).status_code == 200
    wait_until(lambda: all(balance(api, v) == 200 for v in viewers), timeout=30, what="every refund")


def test_a_karaoke_goal_whose_goal_ended_was_lost_is_settled_by_the_tick_and_the_queue_moves_on(api, streamer):
    from shared.core.firestore import db

    session = start_session(api, streamer)
    viewer = User.new()
    provision(api, viewer, 500)
    running, queued = sent(api, viewer, session, TOY), sent(api, viewer, session, BUZZ)
    wait_until(lambda: goals.load(running).started_at is not None, what="the first to run")
    # as if the streamer's skip committed but its goal.ended was never delivered: no receiver ran
    now = time.time()
    db().collection("goals").document(running).update(
        {"active": False, "ended_at": now, "exp": int(now), "skipped": True, "refund_due_at": now})
    assert settlement(running).outcome == "refund"  # settled by the maintenance tick's reconcile
    wait_until(lambda: balance(api, viewer) == 500 - PRICE[BUZZ], timeout=30, what="the refund")
    wait_until(lambda: goals.load(queued).started_at is not None, timeout=30, what="the queued one to start")
