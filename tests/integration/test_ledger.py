"""The ledger against the Firestore emulator: transfers apply once, holds resolve once, wallets
never go below zero, and all accounts sum to zero."""
from __future__ import annotations

import concurrent.futures

import pytest

from shared.core import ids, steps
from shared.core.errors import AlreadyApplied
from shared.core.firestore import run_transaction
from shared.ledger import book, service
from shared.ledger.models import (
    CURRENCIES,
    ISSUANCE,
    REVENUE,
    HoldResolved,
    InsufficientFunds,
    earnings,
    escrow,
    issuance,
    revenue,
    wallet,
)

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
    assert set(totals.currencies) >= set(CURRENCIES) and totals.totals == totals.currencies["diamond"].totals
    assert all(c.balanced and c.negative_wallets == 0 for c in totals.currencies.values()), totals


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


def test_each_currency_is_issued_spent_and_held_on_its_own():
    user, streamer, goal = ids.new_id(), ids.new_id(), ids.new_id()
    before = {c: (service.balance(issuance(c)), service.balance(revenue(c))) for c in CURRENCIES}
    service.provision(user, 100)
    service.provision(user, 40, currency="point")
    service.provision(user, 9, currency="rainbow_diamond")
    assert [service.balance(wallet(user, c)) for c in CURRENCIES] == [100, 0, 40, 9]
    assert service.balance(issuance("point")) == before["point"][0] - 40
    assert service.balance(issuance("rainbow_diamond")) == before["rainbow_diamond"][0] - 9
    assert service.balance(issuance("messaging_diamond")) == before["messaging_diamond"][0]

    # 100 diamonds do not pay 50 points: each wallet spends its own currency
    too_much = book.Move(f"test:{ids.new_id()}", wallet(user, "point"), earnings(streamer, "point"), 50)
    with pytest.raises(InsufficientFunds) as refused:
        run(too_much)
    assert refused.value.details == {"balance": 40, "needed": 50, "currency": "point"}
    assert not book.transfer_ref(too_much.id).get().exists
    run(book.Move(f"test:{ids.new_id()}", wallet(user, "point"), earnings(streamer, "point"), 28),
        book.Move(f"test:{ids.new_id()}", wallet(user, "point"), revenue("point"), 12))
    assert (service.balance(wallet(user, "point")), service.balance(wallet(user))) == (0, 100)
    assert service.balance(earnings(streamer, "point")) == 28 and service.balance(earnings(streamer)) == 0
    assert service.balance(revenue("point")) - before["point"][1] == 12

    # a rainbow hold posts to rainbow earnings; never to another currency's
    account = escrow(f"show_funding:{goal}", "rainbow_diamond")
    hold_id = f"ticket:{goal}:{user}:1"
    (hold,) = run(book.Move(hold_id, wallet(user, "rainbow_diamond"), account, 9, hold=True))
    assert hold.currency == "rainbow_diamond" and hold.credit == f"escrow:show_funding:{goal}:rainbow_diamond"
    with pytest.raises(ValueError):
        run(book.Resolve(hold_id, "post", to=earnings(streamer), fee=2, fee_to=REVENUE))
    assert book.load(hold_id).state == "pending" and service.balance(account) == 9
    (posted,) = run(book.Resolve(hold_id, "post", to=earnings(streamer, "rainbow_diamond"), fee=2,
                                 fee_to=revenue("rainbow_diamond")))
    assert (posted.amount, posted.currency) == (7, "rainbow_diamond")
    assert service.balance(earnings(streamer, "rainbow_diamond")) == 7 and service.balance(account) == 0
    assert service.balance(revenue("rainbow_diamond")) - before["rainbow_diamond"][1] == 2
    totals = service.totals()
    assert totals.currencies["point"].totals["earnings"] >= 28 and totals.currencies["point"].accounts >= 4
    assert_balanced()


def test_a_move_between_two_currencies_is_refused_before_anything_is_written():
    user = funded(30)
    with pytest.raises(ValueError, match="mixes diamond and point"):
        book.Move(f"test:{ids.new_id()}", wallet(user), wallet(ids.new_id(), "point"), 5)
    with pytest.raises(ValueError, match="splits it over"):
        run(book.Resolve("no-such-hold", "post", to=earnings(user, "point"), fee=1, fee_to=REVENUE))
    assert service.balance(wallet(user)) == 30 and service.balance(wallet(user, "point")) == 0
