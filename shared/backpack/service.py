"""Granting, activating and using backpack items. Only this feature writes `backpack_items`; the
tag an item activates is the accounts feature's (`accounts.activate_tag`), written in the same
step; a post voucher is used by the posts feature's unlock, through `take_voucher` in its step."""
from __future__ import annotations

from collections.abc import Callable

from shared import access_cache
from shared.accounts import service as accounts
from shared.backpack.models import BackpackItem, pass_tag, pick_voucher
from shared.core import clock, ids, steps
from shared.core.errors import AlreadyApplied, Conflict
from shared.core.firestore import Txn, as_model, db, document, each, load, where
from shared.core.steps import Effects

ITEMS = "backpack_items"


def item_ref(item_id: str):
    return db().collection(ITEMS).document(item_id)


def get(item_id: str, txn: Txn | None = None) -> BackpackItem:
    return load(item_ref(item_id), BackpackItem, "backpack_item", txn)


def owners(item_id: str) -> set[str]:
    return {get(item_id).user_id}


def of_user(user_id: str) -> list[BackpackItem]:
    items = list(each(where(ITEMS, user_id=user_id), BackpackItem))
    return sorted(items, key=lambda item: item.granted_at, reverse=True)


def new_pass(user_id: str, streamer_id: str | None, seconds: int, source: str) -> BackpackItem:
    return BackpackItem(id=ids.new_id(), user_id=user_id, type="livestream_pass", tag=pass_tag(streamer_id),
                        streamer_id=streamer_id, seconds=seconds, source=source, granted_at=clock.now())


def new_user_product(user_id: str, product_id: str, creator_id: str, source: str) -> BackpackItem:
    return BackpackItem(id=ids.new_id(), user_id=user_id, type="user_product", product_id=product_id,
                        creator_id=creator_id, source=source, granted_at=clock.now())


def new_voucher(user_id: str, creator_id: str | None, source: str) -> BackpackItem:
    return BackpackItem(id=ids.new_id(), user_id=user_id, type="post_voucher", creator_id=creator_id, source=source,
                        granted_at=clock.now())


def put(txn: Txn, item: BackpackItem) -> None:
    """Into its owner's backpack, inside the caller's transaction (after its reads)."""
    txn.create(item_ref(item.id), document(item))


def grant_pass(user_id: str, streamer_id: str | None, seconds: int, source: str,
               client_key: steps.ClientKey | None = None) -> BackpackItem:
    """A livestream pass into the user's backpack, not yet running: its holder activates it."""
    item = new_pass(user_id, streamer_id, seconds, source)

    def body(txn: Txn, fx: Effects) -> BackpackItem:
        accounts.get(user_id, txn)  # 404 for a user who has no account
        put(txn, item)
        return item

    return steps.run(f"grant_pass:{item.id}", body, redelivered=False, client_key=client_key)


def grant_voucher(user_id: str, creator_id: str | None, source: str,
                  client_key: steps.ClientKey | None = None) -> BackpackItem:
    """A post voucher into the user's backpack: unlocks one post (of `creator_id`, or anyone's)."""
    item = new_voucher(user_id, creator_id, source)

    def body(txn: Txn, fx: Effects) -> BackpackItem:
        accounts.get(user_id, txn)  # 404 for a user who has no account
        put(txn, item)
        return item

    return steps.run(f"grant_voucher:{item.id}", body, redelivered=False, client_key=client_key)


class NoVoucher(Conflict):
    code = "no_voucher"


def take_voucher(txn: Txn, user_id: str, creator_id: str, post_id: str) -> Callable[[], BackpackItem]:
    """The user's voucher for a post of `creator_id`, inside the caller's transaction: reads the
    candidates now (raises NoVoucher when none fits) and returns the write that marks the chosen
    one used for `post_id`, to call once the transaction's other reads are done."""
    query = where(ITEMS, user_id=user_id, type="post_voucher", status="available")
    candidates = [as_model(BackpackItem, snap) for snap in txn.get(query)]
    chosen = pick_voucher(candidates, creator_id)
    if chosen is None:
        raise NoVoucher("no voucher for this creator's posts in your backpack",
                        details={"creator_id": creator_id})

    def write() -> BackpackItem:
        used = chosen.model_copy(update={"status": "used", "used_for": post_id, "used_at": clock.now()})
        txn.update(item_ref(chosen.id), {"status": "used", "used_for": post_id, "used_at": used.used_at})
        return used

    return write


def revoke(txn: Txn, item_id: str):
    """Take an item back (a refunded order): a pass already running loses the time it added. Reads
    now; returns the write (giving the revoked item) to call after the transaction's other reads."""
    item = get(item_id, txn)
    shorten = (accounts.shorten_tag(txn, item.user_id, item.tag, item.seconds or 0, item.window.nbf)
               if item.status == "activated" and item.tag and item.window else None)

    def write() -> BackpackItem:
        if item.status == "revoked":
            return item
        if shorten:
            shorten()
            access_cache.invalidate_viewer_everywhere(txn, item.user_id)  # its cached admissions end now
        txn.update(item_ref(item_id), {"status": "revoked", "revoked_at": clock.now()})
        return item.model_copy(update={"status": "revoked"})

    return write


def activate(user_id: str, item_id: str) -> BackpackItem:
    """Start the pass: its seconds run from now, or extend the same pass still running (seed 004:
    activation puts `livestream_pass` under `tagsv2` with `nbf`/`exp`). Once per item."""
    def body(txn: Txn, fx: Effects) -> BackpackItem:
        item = get(item_id, txn)
        if item.type == "post_voucher":
            raise Conflict("a post voucher is not activated: it is used by unlocking a post with the cost Voucher",
                           code="voucher_not_activatable")
        if item.status == "revoked" or item.type != "livestream_pass":
            raise Conflict("this item cannot be activated", code="item_not_activatable")
        if item.status != "available":
            raise Conflict("this item has already been activated", code="item_activated")
        assert item.tag is not None and item.seconds is not None  # new_pass() gives a pass both
        window = accounts.activate_tag(txn, user_id, item.tag, item.seconds)
        activated = item.model_copy(update={"status": "activated", "activated_at": clock.now(), "window": window})
        txn.update(item_ref(item_id), {"status": "activated", "activated_at": activated.activated_at,
                                       "window": window.model_dump()})
        return activated

    try:
        return steps.run(f"activate_backpack_item:{item_id}", body, redelivered=False, claim=f"user:{user_id}")
    except AlreadyApplied:
        raise Conflict("this item has already been activated", code="item_activated") from None
