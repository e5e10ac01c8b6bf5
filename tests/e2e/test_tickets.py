"""Tickets over HTTP: bought against a pre-sale, held in its escrow, refunded to every buyer
exactly once when the pre-sale ends unmet (seeds 000 and 002, with the ledger behind them)."""
from __future__ import annotations

import concurrent.futures
import time

import pytest

from shared.goals import service as goals
from shared.ledger import service as ledger
from shared.ledger.models import escrow
from tests.e2e.helpers import TICKET, balance, buy, provision
from tests.support import User, create_funding_goal, settled, start_session, wait_until

pytestmark = pytest.mark.stack


def listening_viewers(api, pusher_socket, count: int, diamonds: int):
    """New viewers with `diamonds` each, listening on their own private-user channel."""
    viewers = [User.new() for _ in range(count)]
    for viewer in viewers:
        provision(api, viewer, diamonds)
    return viewers, {v.id: pusher_socket(f"private-user@{v.id}") for v in viewers}


def test_the_catalog_lists_tickets_and_gifts(api, viewer):
    products = {p["id"]: p for p in api.call("GET", "/gifts/products", viewer).json()["products"]}
    assert products[TICKET]["price"] == 134 and "livestream-show-ticket" in products[TICKET]["categories"]
    assert any("livestream-show-ticket" not in p["categories"] for p in products.values())


def test_ten_viewers_buy_tickets_and_an_unmet_pre_sale_refunds_each_exactly_once(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    viewers, sockets = listening_viewers(api, pusher_socket, 10, 500)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 6, target=100, hesitation=1)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        receipts = list(pool.map(lambda v: buy(api, v, session["id"], goal["id"], quantity=2), viewers))
    assert [r.status_code for r in receipts] == [201] * 10, [r.text for r in receipts]
    assert {(r.json()["price_each"], r.json()["amount"], r.json()["held"]) for r in receipts} == {(89, 178, True)}
    assert [balance(api, v) for v in viewers] == [500 - 178] * 10
    owner_view = api.call("GET", f"/goals/{goal['id']}", streamer).json()
    assert owner_view["progress"] == 20 and owner_view["breakdown"] == {v.id: 2 for v in viewers}
    assert ledger.balance(escrow(f"show_funding:{goal['id']}")) == 1780
    held = api.call("GET", "/wallet", viewers[0]).json()["holds"]
    assert [(h["state"], h["amount"], h["escrow"]) for h in held] == [("held", 178, f"show_funding:{goal['id']}")]

    # the pre-sale expires unmet: exp + hesitation_countdown + 5 s later every hold is voided back
    for viewer in viewers:
        event = sockets[viewer.id].wait_for("escrow.refunded", timeout=40)
        assert event[3]["amount"] == 178 and event[3]["goal_id"] == goal["id"]
    wait_until(lambda: all(balance(api, v) == 500 for v in viewers), timeout=15, what="every refund")
    decided = goals.load(goal["id"]).refund
    assert decided.decision == "refund"
    settled()  # nothing more arrives: each buyer was refunded once
    assert [sockets[v.id].count("escrow.refunded") for v in viewers] == [1] * 10
    assert [balance(api, v) for v in viewers] == [500] * 10
    assert ledger.balance(escrow(f"show_funding:{goal['id']}")) == 0
    assert {h["state"] for h in api.call("GET", "/wallet", viewers[0]).json()["holds"]} == {"refunded"}
    totals = ledger.totals()
    assert totals.balanced and totals.negative_wallets == 0


def test_a_met_pre_sale_keeps_its_escrow(api, streamer):
    session = start_session(api, streamer)
    viewer = User.new()
    provision(api, viewer, 1000)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600, target=3)
    assert buy(api, viewer, session["id"], goal["id"], quantity=3).status_code == 201
    assert api.call("DELETE", f"/goals/{goal['id']}", streamer).status_code == 200
    decided = wait_until(lambda: goals.load(goal["id"]).refund, timeout=20, what="the decision")
    assert decided.decision == "keep" and goals.load(goal["id"]).progress == 3
    assert balance(api, viewer) == 1000 - 3 * 89
    assert ledger.balance(escrow(f"show_funding:{goal['id']}")) == 3 * 89


def test_refused_purchases_change_nothing(api, streamer):
    session = start_session(api, streamer)
    other_session = start_session(api, User.new("role:creator"))
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    poor, viewer = User.new(), User.new()
    provision(api, poor, 50)
    provision(api, viewer, 1000)
    cases = [
        (buy(api, poor, session["id"], goal["id"]), 409, "insufficient_funds"),
        (buy(api, viewer, session["id"], goal["id"], product="livestream-show-ticket_1200"), 400, "validation_error"),
        (buy(api, viewer, other_session["id"], goal["id"]), 409, "goal_not_in_session"),
        (buy(api, viewer, session["id"], goal["id"], quantity=0), 400, "validation_error"),
        (buy(api, viewer, session["id"], None), 400, "validation_error"),
        (buy(api, streamer, session["id"], goal["id"]), 409, "own_session"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    api.call("DELETE", f"/goals/{goal['id']}", streamer)
    ended = buy(api, viewer, session["id"], goal["id"])
    assert (ended.status_code, ended.json()["error"]["code"]) == (409, "goal_ended")
    assert (balance(api, poor), balance(api, viewer)) == (50, 1000)
    assert goals.tickets_sold(goal["id"]) == 0 and ledger.balance(escrow(f"show_funding:{goal['id']}")) == 0


def test_a_retried_purchase_is_paid_once(api, streamer):
    session = start_session(api, streamer)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    viewer = User.new()
    provision(api, viewer, 500)
    first = buy(api, viewer, session["id"], goal["id"], key="buy-1")
    again = buy(api, viewer, session["id"], goal["id"], key="buy-1")
    assert (first.status_code, again.status_code) == (201, 201) and again.json() == first.json()
    assert balance(api, viewer) == 500 - 89 and goals.tickets_sold(goal["id"]) == 1


def test_an_ordinary_gift_pays_the_streamer_less_the_platform_share(api, streamer):
    session = start_session(api, streamer)
    viewer = User.new()
    provision(api, viewer, 100)
    sent = api.call("POST", f"/sessions/{session['id']}/gifts", viewer,
                    json={"product_id": "livestream-gift-rose_10", "quantity": 3})
    assert sent.status_code == 201 and sent.json()["amount"] == 30 and sent.json()["held"] is False
    assert balance(api, viewer) == 70
    assert api.call("GET", "/wallet", streamer).json()["earnings"] == 30 - 30 * 30 // 100


def test_the_refund_flow_delivered_twice_changes_nothing_more(api, streamer, pusher_socket):
    """Every signal and task of the refund redelivered through the emulators: the same balances,
    one escrow.refunded per buyer."""
    from shared.core import signals, tasks
    from shared.ledger.tasks import ESCROW_REFUND, UPDATE_BI_ESCROW, EscrowArgs, HoldArgs

    session = start_session(api, streamer)
    viewers, sockets = listening_viewers(api, pusher_socket, 3, 300)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 3, target=100, hesitation=0)
    holds = [buy(api, v, session["id"], goal["id"]).json()["transfer_id"] for v in viewers]
    for viewer in viewers:
        sockets[viewer.id].wait_for("escrow.refunded", timeout=30)
    wait_until(lambda: all(balance(api, v) == 300 for v in viewers), timeout=15, what="the refunds")

    escrow_id = f"show_funding:{goal['id']}"
    signals.publish("goal.ended", goals.load(goal["id"]).ended_event())
    tasks.schedule(ESCROW_REFUND, EscrowArgs(escrow_id=escrow_id, event="escrow.failed"), at=time.time())
    for hold in holds:
        tasks.schedule(UPDATE_BI_ESCROW, HoldArgs(hold_id=hold, event="escrow.failed"), at=time.time())
        tasks.schedule(UPDATE_BI_ESCROW, HoldArgs(hold_id=hold, event="escrow.succeeded"), at=time.time())
    tasks.schedule("check_funding_goal_refundable", {"goal_id": goal["id"]}, at=time.time())
    from shared.core import steps

    wait_until(lambda: all((steps.stored(f"update_bi_escrow:{h}") or {}).get("repeats", 0) >= 1 for h in holds),
               timeout=20, what="the repeated tasks")
    settled()
    assert [balance(api, v) for v in viewers] == [300] * 3
    assert [sockets[v.id].count("escrow.refunded") for v in viewers] == [1] * 3
    assert ledger.balance(escrow(escrow_id)) == 0 and api.call("GET", "/wallet", streamer).json()["earnings"] == 0
    assert ledger.totals().balanced


def test_purchases_racing_the_pre_sales_end_count_or_are_refused(api, streamer):
    """Buyers keep buying while the streamer ends the pre-sale: every purchase that got its 201
    is counted and refunded with the rest; every other one was refused and cost nothing."""
    session = start_session(api, streamer)
    viewers = [User.new() for _ in range(8)]
    for viewer in viewers:
        provision(api, viewer, 89 * 40)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600, target=10_000, hesitation=0)

    def keep_buying(viewer):
        outcomes = []
        for _ in range(25):
            response = buy(api, viewer, session["id"], goal["id"])
            outcomes.append(response.status_code)
            if response.status_code != 201:
                assert response.json()["error"]["code"] == "goal_ended", response.text
                break
        return outcomes

    with concurrent.futures.ThreadPoolExecutor(9) as pool:
        buying = [pool.submit(keep_buying, v) for v in viewers]
        time.sleep(1.0)
        assert pool.submit(api.call, "DELETE", f"/goals/{goal['id']}", streamer).result().status_code == 200
        outcomes = [b.result() for b in buying]
    bought = [o.count(201) for o in outcomes]
    assert sum(bought) > 0 and all(o[-1] == 409 or len(o) == 25 for o in outcomes)
    assert goals.tickets_sold(goal["id"]) == sum(bought)
    assert [balance(api, v) for v in viewers] == [89 * 40 - 89 * n for n in bought]
    decided = wait_until(lambda: goals.load(goal["id"]).refund, timeout=30, what="the decision")
    assert decided.decision == "refund" and goals.load(goal["id"]).progress == sum(bought)
    wait_until(lambda: all(balance(api, v) == 89 * 40 for v in viewers), timeout=30, what="every refund")
