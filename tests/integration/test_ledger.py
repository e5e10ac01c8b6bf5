"""The ledger against the Firestore emulator: transfers apply once, holds resolve once, wallets
never go below zero, and all accounts sum to zero."""
from __future__ import annotations

import concurrent.futures

import pytest

from shared.core import ids, steps
from shared.core.errors import AlreadyApplied
from shared.core.firestore import run_transaction
from shared.ledger import book, service
from shared.ledger.models import ISSUANCE, REVENUE, HoldResolved, InsufficientFunds, earnings, escrow, wallet

pytestmark = pytest.mark.stack


@pytest.fixture(autouse=True)
def _running(stack):
    """Every test here talks to the emulators."""


def run(*ops):
    return run_transaction(lambda txn: book.execute(txn, list(ops)))


def funded(amount: int) -> str:
    user = ids.new_id()
    service.provision(user, amount)
    return user


def assert_balanced():
    totals = service.totals()
    assert totals.balanced and totals.negative_wallets == 0, totals


def test_provisioning_moves_diamonds_from_issuance():
    before = service.balance(ISSUANCE)
    user = funded(500)
    assert service.balance(wallet(user)) == 500
    assert service.balance(ISSUANCE) == before - 500
    assert_balanced()


def test_a_transfer_applies_once_and_a_repeat_returns_the_first_result():
    payer, payee = funded(100), ids.new_id()
    move = book.Move(f"test:{ids.new_id()}", wallet(payer), wallet(payee), 30)
    (first,) = run(move)
    (again,) = run(move)
    assert again == first
    assert (service.balance(wallet(payer)), service.balance(wallet(payee))) == (70, 30)
    assert_balanced()


def test_insufficient_funds_change_nothing():
    payer, payee = funded(10), ids.new_id()
    ok = book.Move(f"test:{ids.new_id()}", wallet(payer), wallet(payee), 6)
    too_much = book.Move(f"test:{ids.new_id()}", wallet(payer), wallet(payee), 6)
    with pytest.raises(InsufficientFunds):
        run(ok, too_much)  # together they need 12: neither is applied
    assert not book.transfer_ref(ok.id).get().exists
    assert (service.balance(wallet(payer)), service.balance(wallet(payee))) == (10, 0)


def test_a_hold_is_voided_back_once_and_cannot_then_be_posted():
    buyer, goal = funded(100), ids.new_id()
    account = escrow(f"show_funding:{goal}")
    hold_id = f"ticket:{goal}:{buyer}:1"
    (hold,) = run(book.Move(hold_id, wallet(buyer), account, 40, hold=True, metadata={"goal_id": goal}))
    assert hold.state == "pending" and service.balance(account) == 40 and service.balance(wallet(buyer)) == 60
    (void,) = run(book.Resolve(hold_id, "void"))
    (again,) = run(book.Resolve(hold_id, "void"))
    assert again == void and void.credit == wallet(buyer).id
    assert service.balance(wallet(buyer)) == 100 and service.balance(account) == 0
    with pytest.raises(HoldResolved):
        run(book.Resolve(hold_id, "post", to=earnings(ids.new_id())))
    stored = book.transfer_ref(hold_id).get().to_dict()
    assert (stored["state"], stored["resolved_by"]) == ("voided", f"{hold_id}:void")
    assert_balanced()


def test_a_hold_is_posted_to_earnings_less_the_platform_share():
    buyer, streamer, goal = funded(100), ids.new_id(), ids.new_id()
    account = escrow(f"show_funding:{goal}")
    hold_id = f"ticket:{goal}:{buyer}:1"
    run(book.Move(hold_id, wallet(buyer), account, 50, hold=True))
    revenue_before = service.balance(REVENUE)
    (posted,) = run(book.Resolve(hold_id, "post", to=earnings(streamer), fee=15, fee_to=REVENUE))
    assert posted.amount == 35 and service.balance(earnings(streamer)) == 35
    assert service.balance(REVENUE) - revenue_before == 15 and service.balance(account) == 0
    with pytest.raises(HoldResolved):
        run(book.Resolve(hold_id, "void"))
    assert service.balance(wallet(buyer)) == 50
    assert_balanced()


def test_concurrent_spending_never_takes_a_wallet_below_zero():
    buyer, goal = funded(50), ids.new_id()
    account = escrow(f"show_funding:{goal}")

    def buy(n: int) -> str:
        try:
            run(book.Move(f"ticket:{goal}:{buyer}:{n}", wallet(buyer), account, 10, hold=True))
            return "bought"
        except InsufficientFunds:
            return "refused"

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(buy, range(8)))
    assert outcomes.count("bought") == 5 and outcomes.count("refused") == 3
    assert service.balance(wallet(buyer)) == 0 and service.balance(account) == 50
    assert_balanced()


def test_the_ledger_is_the_step_a_provisioning_retry_replays():
    user, key = ids.new_id(), steps.ClientKey(step_key=f"idempotency:test:{ids.new_id()}", request_hash="h", status=201)
    first = service.provision(user, 25, key)
    with pytest.raises(AlreadyApplied) as repeat:
        service.provision(user, 25, key)
    assert repeat.value.marker["response"]["body"]["id"] == first.id
    assert service.balance(wallet(user)) == 25
