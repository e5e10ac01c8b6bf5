"""The rules of a post's costs and unlocks, and of the ledger's currencies, that need no stack:
which costs a post may carry, which currency each pays in, the platform's share, which voucher an
unlock uses, and that no movement mixes two currencies."""
from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.backpack.models import BackpackItem, VoucherGrant, pick_voucher
from shared.ledger import book
from shared.ledger.models import (
    CURRENCIES,
    ISSUANCE,
    REVENUE,
    Account,
    ProvisionRequest,
    WalletQuery,
    earnings,
    escrow,
    issuance,
    revenue,
    wallet,
)
from shared.posts.models import (
    Cost,
    Diamond,
    MessagingDiamonds,
    Points,
    PostCreate,
    RainbowDiamonds,
    Unlock,
    UnlockRequest,
    Voucher,
    offered,
    split,
)

CREATOR, OTHER, VIEWER = "a" * 24, "b" * 24, "c" * 24
COSTS = TypeAdapter(Cost)


def create(*costs: dict, pricing: str = "paid") -> PostCreate:
    return PostCreate.model_validate({"assets": ["d" * 24], "caption": {"text": "x"}, "pricing": {"kind": pricing},
                                      "cost": list(costs)})


def voucher(item_id: str, creator_id: str | None, granted_at: float, status: str = "available") -> BackpackItem:
    return BackpackItem(id=item_id, user_id=VIEWER, type="post_voucher", creator_id=creator_id, status=status,
                        source="admin:x", granted_at=granted_at)


def test_each_priced_cost_pays_in_its_own_currency_and_names_its_unlock():
    expected = {"Diamond": ("diamond", "DiamondUnlock"),
                "MessagingDiamonds": ("messaging_diamond", "MessagingDiamondsUnlock"),
                "Points": ("point", "PointsUnlock"), "RainbowDiamonds": ("rainbow_diamond", "RainbowDiamondUnlock")}
    for name, (currency, unlock) in expected.items():
        cost = COSTS.validate_python({"_cls": name, "amount": 7})
        assert (cost.currency, cost.unlock, cost.amount) == (currency, unlock, 7)
        assert cost.currency in CURRENCIES
        assert cost.model_dump(by_alias=True) == {"_cls": name, "amount": 7}
    free = COSTS.validate_python({"_cls": "Voucher"})
    assert isinstance(free, Voucher) and free.unlock == "VoucherUnlock"
    assert free.model_dump(by_alias=True) == {"_cls": "Voucher"}


@pytest.mark.parametrize("bad", [
    {"_cls": "Gold", "amount": 5},  # not a cost
    {"_cls": "Points", "amount": 0},
    {"_cls": "Points", "amount": -3},
    {"_cls": "RainbowDiamonds", "amount": 1.5},
    {"_cls": "MessagingDiamonds", "amount": "4"},
    {"_cls": "MessagingDiamonds"},  # priced costs need an amount
    {"_cls": "Voucher", "amount": 1},  # a voucher has none
    {"amount": 5},
])
def test_bad_costs_are_refused(bad):
    with pytest.raises(ValidationError):
        COSTS.validate_python(bad)


def test_a_post_takes_one_cost_per_kind_up_to_every_kind():
    every = create({"_cls": "Diamond", "amount": 50}, {"_cls": "MessagingDiamonds", "amount": 40},
                   {"_cls": "Points", "amount": 500}, {"_cls": "RainbowDiamonds", "amount": 5}, {"_cls": "Voucher"})
    assert [type(c) for c in every.cost] == [Diamond, MessagingDiamonds, Points, RainbowDiamonds, Voucher]
    for twice in ([{"_cls": "Points", "amount": 1}, {"_cls": "Points", "amount": 2}],
                  [{"_cls": "Voucher"}, {"_cls": "Voucher"}]):
        with pytest.raises(ValidationError, match="one cost per kind"):
            create(*twice)


def test_the_unlock_request_names_one_of_the_cost_kinds():
    for kind in ("Diamond", "MessagingDiamonds", "Points", "RainbowDiamonds", "Voucher"):
        assert UnlockRequest.model_validate({"cost": kind}).cost == kind
    for bad in ({"cost": "Gold"}, {"cost": "DiamondUnlock"}, {}, {"cost": "Points", "amount": 3}):
        with pytest.raises(ValidationError):
            UnlockRequest.model_validate(bad)


def test_offered_finds_the_post_s_cost_of_that_kind_or_none():
    post = create({"_cls": "Diamond", "amount": 50}, {"_cls": "Points", "amount": 500})
    assert offered(post.cost, "Points") == Points(amount=500)
    assert offered(post.cost, "Diamond").amount == 50
    assert offered(post.cost, "Voucher") is None and offered(post.cost, "RainbowDiamonds") is None
    assert offered([], "Diamond") is None


def test_the_platform_s_share_is_rounded_down_and_the_creator_gets_the_rest():
    assert split(50, 30) == (35, 15)
    assert split(7, 30) == (5, 2)
    assert split(3, 30) == (3, 0)  # no share below the rounding: no fee transfer
    assert split(1, 0) == (1, 0)
    for amount in range(1, 200):
        creator, fee = split(amount, 30)
        assert creator + fee == amount and creator > 0 and fee >= 0


def test_unlock_records_say_which_cost_paid():
    paid = Unlock(post_id="p", viewer_id=VIEWER, cls="PointsUnlock", amount=500, transfer_id="unlock:p:v", at=1.0)
    assert paid.model_dump(by_alias=True)["_cls"] == "PointsUnlock" and paid.voucher_id is None
    used = Unlock(post_id="p", viewer_id=VIEWER, cls="VoucherUnlock", amount=0, voucher_id="e" * 24, at=1.0)
    assert used.transfer_id is None
    stored = {"post_id": "p", "viewer_id": VIEWER, "_cls": "DiamondUnlock", "amount": 50, "transfer_id": "t", "at": 1.0}
    assert Unlock.model_validate(stored).cls == "DiamondUnlock"  # unlocks stored before the other costs
    with pytest.raises(ValidationError):
        Unlock.model_validate({**stored, "_cls": "GoldUnlock"})


def test_a_voucher_bound_to_the_post_s_creator_is_used_before_a_global_one():
    older_global, bound, newer_bound = voucher("1" * 24, None, 1.0), voucher("2" * 24, CREATOR, 5.0), \
        voucher("3" * 24, CREATOR, 9.0)
    elsewhere = voucher("4" * 24, OTHER, 0.5)
    assert pick_voucher([older_global, newer_bound, elsewhere, bound], CREATOR) == bound
    assert pick_voucher([older_global, elsewhere], CREATOR) == older_global
    assert pick_voucher([elsewhere], CREATOR) is None  # bound to another creator: never used here
    assert pick_voucher([], CREATOR) is None
    used = voucher("5" * 24, CREATOR, 0.1, status="used")
    revoked = voucher("6" * 24, None, 0.1, status="revoked")
    assert pick_voucher([used, revoked], CREATOR) is None
    a_pass = BackpackItem(id="7" * 24, user_id=VIEWER, type="livestream_pass", source="admin:x", granted_at=0.0)
    assert pick_voucher([a_pass], CREATOR) is None


def test_a_voucher_grant_binds_to_a_creator_or_none():
    assert VoucherGrant.model_validate({}).creator_id is None
    assert VoucherGrant.model_validate({"creator_id": CREATOR}).creator_id == CREATOR
    for bad in ({"creator_id": "nope"}, {"creator_id": CREATOR, "seconds": 60}):
        with pytest.raises(ValidationError):
            VoucherGrant.model_validate(bad)


def test_every_currency_has_its_own_issuance_and_revenue():
    assert set(CURRENCIES) == {"diamond", "messaging_diamond", "point", "rainbow_diamond"}
    assert (ISSUANCE.id, REVENUE.id) == ("issuance:platform:diamond", "revenue:platform:diamond")
    for currency in CURRENCIES:
        assert issuance(currency).id == f"issuance:platform:{currency}"
        assert revenue(currency).id == f"revenue:platform:{currency}"
        assert Account.parse(wallet("u", currency).id) == wallet("u", currency)
    assert Account.parse("escrow:show_funding:abc:point") == escrow("show_funding:abc", "point")
    for bad in ("wallet:u:gold", "wallet:u:Diamond"):
        with pytest.raises(ValidationError):
            Account.parse(bad)
    with pytest.raises(ValidationError):
        wallet("u", "gold")


def test_no_movement_mixes_two_currencies():
    with pytest.raises(ValueError, match="mixes diamond and point"):
        book.Move("x", wallet("u"), earnings("v", "point"), 5)
    with pytest.raises(ValueError, match="splits it over"):
        book.execute(None, [book.Resolve("h", "post", to=earnings("v", "point"), fee=1, fee_to=REVENUE)])
    book.Move("x", wallet("u", "point"), revenue("point"), 5)  # one currency: fine


def test_provisioning_and_the_wallet_take_a_declared_currency_diamonds_by_default():
    assert ProvisionRequest.model_validate({"amount": 5}).currency == "diamond"
    assert ProvisionRequest.model_validate({"amount": 5, "currency": "rainbow_diamond"}).currency == "rainbow_diamond"
    assert WalletQuery.model_validate({}).currency == "diamond"
    assert WalletQuery.model_validate({"currency": "point"}).currency == "point"
    for bad in ({"amount": 5, "currency": "gold"}, {"amount": 5, "currency": None}):
        with pytest.raises(ValidationError):
            ProvisionRequest.model_validate(bad)
    with pytest.raises(ValidationError):
        WalletQuery.model_validate({"currency": "points"})
