"""Fulfilment by product class (seed 004: `fulfill_order_pass_product` and its siblings), and its
reverse, the refund. Products from before classes get theirs from their id (models.LEGACY_CLASSES),
so the legacy `grant_passes` is this same path.

    DiamondPackProduct  issuance -> the buyer's wallet, through the ledger
    PassProduct         a pass into the buyer's backpack (its holder activates it)
    UserProduct         the item into the buyer's backpack; issuance -> the creator's earnings
"""
from __future__ import annotations

from shared.backpack import service as backpack
from shared.core.errors import Conflict
from shared.core.firestore import Txn
from shared.ledger import book
from shared.ledger import service as ledger
from shared.ledger.models import ISSUANCE, earnings, wallet
from shared.shop import orders
from shared.shop.models import Order, Refund


def _diamond_pack(txn: Txn, order: Order) -> dict:
    diamonds = order.product["diamonds"]
    (transfer,) = book.execute(txn, [book.Move(f"order:{order.id}", ISSUANCE, wallet(order.user_id), diamonds,
                                               metadata={"order_id": order.id, "product_id": order.product_id})])
    return {"transfer": transfer.id, "diamonds": diamonds}


def _pass(txn: Txn, order: Order) -> dict:
    item = backpack.new_pass(order.user_id, order.product.get("streamer_id"), order.product["seconds"],
                             f"order:{order.id}")
    backpack.put(txn, item)
    return {"backpack_item": item.id}


def _user_product(txn: Txn, order: Order) -> dict:
    outcome, creator, diamonds = {}, order.product["creator_id"], order.product["creator_diamonds"]
    if diamonds:
        (transfer,) = book.execute(txn, [book.Move(f"order:{order.id}:creator", ISSUANCE, earnings(creator), diamonds,
                                                   metadata={"order_id": order.id, "product_id": order.product_id})])
        outcome = {"transfer": transfer.id, "creator_diamonds": diamonds}
    item = backpack.new_user_product(order.user_id, order.product_id, creator, f"order:{order.id}")
    backpack.put(txn, item)
    return {**outcome, "backpack_item": item.id}


FULFIL = {"DiamondPackProduct": _diamond_pack, "PassProduct": _pass, "UserProduct": _user_product}


def fulfil(txn: Txn, order_id: str) -> Order:
    """Deliver a paid order, once (the caller's step); it becomes fulfilled."""
    order = orders.load_order(order_id, txn)
    if order.status != "paid":
        raise Conflict(f"the order is {order.status}, not paid", code="order_status")
    return orders.move(txn, order, "fulfilled", fulfilment=FULFIL[order.product_class](txn, order))


def refund(txn: Txn, order_id: str) -> Refund:
    """Reverse a fulfilled order: unspent diamonds back to issuance (never below zero: what was
    spent is reported), a backpack item revoked (a running pass loses its time)."""
    order = orders.load_order(order_id, txn)
    if order.status != "fulfilled":
        raise Conflict(f"only a fulfilled order is refunded; this one is {order.status}", code="order_status")
    done = order.fulfilment or {}
    revoke = backpack.revoke(txn, done["backpack_item"]) if done.get("backpack_item") else None
    due = done.get("diamonds") or done.get("creator_diamonds") or 0
    account = (wallet(order.user_id) if order.product_class == "DiamondPackProduct"
               else earnings(order.product.get("creator_id", "")))
    taken = min(due, max(0, ledger.balance(account, txn))) if due else 0
    if taken:  # its reads come before any write of this transaction
        book.execute(txn, [book.Move(f"refund:{order.id}", account, ISSUANCE, taken, metadata={"order_id": order.id})])
    report = {"taken_back": taken, "already_spent": due - taken, "revoked_item": revoke().id if revoke else None}
    return Refund(order=orders.move(txn, order, "refunded", refund=report), **report)
