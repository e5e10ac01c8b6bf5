"""The show stage over HTTP (seeds 002 and 004): a show started against a pre-sale pays the
streamer once it ran its perform_duration, and refunds every buyer when it ends early."""
from __future__ import annotations

import concurrent.futures
import time

import pytest

from shared.goals import service as goals
from shared.ledger import service as ledger
from shared.ledger.models import escrow
from tests.e2e.helpers import balance, buy, provision, settlement
from tests.support import User, funding_body, settled, start_session, until, wait_until

pytestmark = pytest.mark.stack
PRICE = 89  # the early-bird ticket of tests.support.funding_body


def pre_sale(api, streamer, session, *, target: int, exp_in: int = 600, perform: int = 3, hesitation: int = 0):
    body = funding_body(session["id"], int(time.time()) + exp_in, target=target, hesitation=hesitation)
    body["context"]["perform_duration"] = perform
    response = api.call("POST", "/goals?type=show-funding", streamer, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def start_show(api, streamer, session, goal):
    return api.call("POST", "/goals?type=show", streamer,
                    json={"context": {"session_id": session["id"], "funding_goal_id": goal["id"]}})


def buyers(api, session, goal, count: int, quantity: int = 1) -> list[User]:
    viewers = [User.new() for _ in range(count)]
    for viewer in viewers:
        provision(api, viewer, 1000)
        assert buy(api, viewer, session["id"], goal["id"], quantity=quantity).status_code == 201
    return viewers


def test_a_met_pre_sale_and_a_show_performed_for_its_duration_pay_the_streamer(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    sock = pusher_socket(f"private-user@{streamer.id}")
    goal = pre_sale(api, streamer, session, target=4, perform=3)
    viewers = buyers(api, session, goal, 4)
    show = start_show(api, streamer, session, goal)
    assert show.status_code == 201, show.text
    show = show.json()
    assert show["_cls"] == "ShowGoal" and show["exp"] - show["nbf"] == 3
    stored = goals.load(goal["id"])
    assert stored.active is False and stored.context.show_goal_id == show["id"]  # the show ended the pre-sale
    pair = wait_until(lambda: api.call("GET", f"/sessions/{session['id']}", streamer).json()["show_goal_pairs"][0]
                      .get("show_goal"), what="the pair's show")
    assert pair == show["id"]

    assert settlement(goal["id"]).outcome == "payout"
    sock.wait_for("escrow.paid_out", timeout=20)
    fee_each = PRICE * 30 // 100
    wait_until(lambda: api.call("GET", "/wallet", streamer).json()["earnings"] == 4 * (PRICE - fee_each),
               timeout=20, what="the streamer's earnings")
    assert ledger.balance(escrow(f"show_funding:{goal['id']}")) == 0
    assert [balance(api, v) for v in viewers] == [1000 - PRICE] * 4
    assert {h["state"] for h in api.call("GET", "/wallet", viewers[0]).json()["holds"]} == {"paid_out"}
    assert ledger.totals().balanced


def test_a_show_ended_early_refunds_every_buyer(api, streamer):
    session = start_session(api, streamer)
    goal = pre_sale(api, streamer, session, target=2, perform=600)
    viewers = buyers(api, session, goal, 2)
    show = start_show(api, streamer, session, goal).json()
    assert api.call("DELETE", f"/goals/{show['id']}", streamer).status_code == 200
    assert settlement(goal["id"]).outcome == "refund"
    wait_until(lambda: all(balance(api, v) == 1000 for v in viewers), timeout=20, what="the refunds")
    assert api.call("GET", "/wallet", streamer).json()["earnings"] == 0


def test_shows_are_refused_once_the_refund_was_decided(api, streamer):
    session = start_session(api, streamer)
    goal = pre_sale(api, streamer, session, target=5, exp_in=2, hesitation=0)
    buyers(api, session, goal, 1)
    assert settlement(goal["id"]).outcome == "refund"
    refused = start_show(api, streamer, session, goal)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "show_not_allowed")


def test_a_refund_check_and_a_show_start_racing_have_one_winner(api, streamer):
    """The pre-sale ends unmet; at the end of its hesitation countdown the show start and the
    refund check race. Whichever wins, the other is refused, and the money goes one way."""
    session = start_session(api, streamer)
    goal = pre_sale(api, streamer, session, target=5, exp_in=600, perform=600, hesitation=1)
    viewers = buyers(api, session, goal, 2)
    assert api.call("DELETE", f"/goals/{goal['id']}", streamer).status_code == 200
    until(goals.load(goal["id"]).exp + 1 - 0.05)  # the end of the hesitation countdown
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        show = pool.submit(start_show, api, streamer, session, goal)
        decision = pool.submit(lambda: wait_until(lambda: goals.load(goal["id"]).refund, timeout=30, what="decision"))
        show, decision = show.result(), decision.result()
    if show.status_code == 201:  # the show won: the refund check found it bound
        assert decision.decision == "keep" and goals.load(goal["id"]).settlement is None
        assert [balance(api, v) for v in viewers] == [1000 - PRICE] * 2
    else:  # the refund won: the show was refused
        assert show.json()["error"]["code"] == "show_not_allowed" and decision.decision == "refund"
        wait_until(lambda: all(balance(api, v) == 1000 for v in viewers), timeout=20, what="the refunds")


def test_a_met_pre_sale_without_a_show_is_refunded_when_the_session_ends(api, streamer):
    session = start_session(api, streamer)
    goal = pre_sale(api, streamer, session, target=1)
    (viewer,) = buyers(api, session, goal, 1)
    assert api.call("DELETE", f"/goals/{goal['id']}", streamer).status_code == 200
    assert wait_until(lambda: goals.load(goal["id"]).refund, what="decision").decision == "keep"
    assert api.call("DELETE", f"/sessions/{session['id']}", streamer).status_code == 200
    assert settlement(goal["id"]).outcome == "refund"
    wait_until(lambda: balance(api, viewer) == 1000, timeout=20, what="the refund")


def test_ending_the_session_during_the_show_refunds_every_buyer(api, streamer):
    session = start_session(api, streamer)
    goal = pre_sale(api, streamer, session, target=1, perform=600)
    (viewer,) = buyers(api, session, goal, 1)
    show = start_show(api, streamer, session, goal).json()
    assert api.call("DELETE", f"/sessions/{session['id']}", streamer).json()["ending_goals"] == [show["id"]]
    assert settlement(goal["id"]).outcome == "refund"
    wait_until(lambda: balance(api, viewer) == 1000, timeout=20, what="the refund")


def test_the_payout_delivered_twice_pays_once(api, streamer):
    from shared.core import signals, steps, tasks
    from shared.ledger.tasks import ESCROW_REFUND, UPDATE_BI_ESCROW, EscrowArgs, HoldArgs

    session = start_session(api, streamer)
    goal = pre_sale(api, streamer, session, target=2, perform=2)
    buyers(api, session, goal, 2)
    show = start_show(api, streamer, session, goal).json()
    assert settlement(goal["id"]).outcome == "payout"
    earned = 2 * (PRICE - PRICE * 30 // 100)
    wait_until(lambda: api.call("GET", "/wallet", streamer).json()["earnings"] == earned, timeout=20, what="payout")
    escrow_id = f"show_funding:{goal['id']}"
    holds = [h.id for h in ledger_holds(escrow_id)]
    signals.publish("goal.ended", goals.load(show["id"]).ended_event())
    tasks.schedule(ESCROW_REFUND, EscrowArgs(escrow_id=escrow_id, event="escrow.succeeded"), at=time.time())
    for hold in holds:
        tasks.schedule(UPDATE_BI_ESCROW, HoldArgs(hold_id=hold, event="escrow.succeeded"), at=time.time())
    wait_until(lambda: all((steps.stored(f"update_bi_escrow:{h}") or {}).get("repeats", 0) >= 1 for h in holds),
               timeout=20, what="the repeated tasks")
    settled()
    assert api.call("GET", "/wallet", streamer).json()["earnings"] == earned
    assert ledger.balance(escrow(escrow_id)) == 0 and ledger.totals().balanced


def ledger_holds(escrow_id: str):
    from shared.core.firestore import where
    from shared.ledger import book
    from shared.ledger.models import Transfer

    return [Transfer.model_validate(s.to_dict())
            for s in where(book.TRANSFERS, credit=escrow(escrow_id).id, hold=True).stream()]
