"""The ledger over HTTP: provisioning by an admin, a user's wallet, the totals."""
from __future__ import annotations

import concurrent.futures

import pytest

from shared.core import ids
from shared.core.firestore import run_transaction
from shared.ledger import book
from shared.ledger.models import escrow, wallet
from tests.support import User

pytestmark = pytest.mark.stack


@pytest.fixture
def admin() -> User:
    return User.new("role:admin")


def provision(api, admin, user_id: str, amount, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    return api.call("POST", f"/admin/users/{user_id}/diamonds", admin, json={"amount": amount}, headers=headers)


def test_an_admin_provisions_diamonds_and_the_wallet_shows_them(api, admin, viewer):
    response = provision(api, admin, viewer.id, 500, key="welcome-bonus")
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == 500 and response.json()["credit"] == f"wallet:{viewer.id}:diamond"
    again = provision(api, admin, viewer.id, 500, key="welcome-bonus")  # a retry: replayed, not paid twice
    assert again.status_code == 201 and again.json() == response.json()
    mine = api.call("GET", "/wallet", viewer).json()
    assert (mine["balance"], mine["earnings"], mine["holds"]) == (500, 0, [])
    assert [(t["direction"], t["amount"], t["counterparty"]) for t in mine["transfers"]] == [("in", 500, "issuance")]


def test_the_wallet_shows_where_held_diamonds_sit(api, admin, viewer):
    provision(api, admin, viewer.id, 100)
    goal = ids.new_id()
    hold_id = f"ticket:{goal}:{viewer.id}:1"
    run_transaction(lambda txn: book.execute(txn, [book.Move(
        hold_id, wallet(viewer.id), escrow(f"show_funding:{goal}"), 30, hold=True,
        metadata={"goal_id": goal, "product_id": "livestream-show-ticket_134", "refund_after": 1_900_000_000})]))
    mine = api.call("GET", "/wallet", viewer).json()
    assert mine["balance"] == 70
    (hold,) = mine["holds"]
    assert (hold["id"], hold["escrow"], hold["amount"], hold["state"], hold["refund_after"]) == (
        hold_id, f"show_funding:{goal}", 30, "held", 1_900_000_000)
    run_transaction(lambda txn: book.execute(txn, [book.Resolve(hold_id, "void")]))
    (hold,) = api.call("GET", "/wallet", viewer).json()["holds"]
    assert hold["state"] == "refunded" and hold["refund_after"] is None
    assert api.call("GET", "/wallet", viewer).json()["balance"] == 100


def test_provisioning_needs_the_admin_scope_and_a_positive_whole_amount(api, admin, viewer):
    assert provision(api, viewer, viewer.id, 500).status_code == 403
    for bad in (0, -5, 1.5, "10", True):
        response = provision(api, admin, viewer.id, bad)
        assert response.status_code == 400, bad
    assert api.call("GET", "/wallet", viewer).json()["balance"] == 0
    assert api.call("GET", "/admin/ledger", viewer).status_code == 403


def test_the_ledger_balances_after_concurrent_provisioning(api, admin):
    users = [User.new() for _ in range(5)]
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda n: provision(api, admin, users[n % 5].id, 7).status_code, range(20)))
    assert codes == [201] * 20
    assert [api.call("GET", "/wallet", u).json()["balance"] for u in users] == [28] * 5
    totals = api.call("GET", "/admin/ledger", admin).json()
    assert totals["balanced"] is True and totals["negative_wallets"] == 0
    assert totals["totals"]["issuance"] == -sum(v for k, v in totals["totals"].items() if k != "issuance")
