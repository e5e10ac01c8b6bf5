"""Products and orders. Only this feature writes `shop_products` and `shop_orders`; an order moves
through `TRANSITIONS` one status at a time, each entered once, with its time."""
from __future__ import annotations

import functools
import json
import pathlib
from urllib.parse import urlencode

from shared.core import clock, ids, steps
from shared.core.config import settings
from shared.core.errors import Conflict, NotFound
from shared.core.firestore import Txn, array_union, db, document, each, load, where
from shared.shop import signing
from shared.shop.models import (
    TRANSITIONS,
    Checkout,
    CheckoutRequest,
    Gateway,
    Order,
    UserProduct,
    parse_product,
)
from shared.shop.signals import EXPIRE_ORDER, ORDER_CREATED, OrderArgs, OrderCreated

PRODUCTS, ORDERS = "shop_products", "shop_orders"
CATALOG = pathlib.Path(__file__).with_name("catalog.json")
PAY_LINK = "pay"  # what the payment link's signature is for


def catalog() -> list:
    """The products the stack seeds (shared/localstack/provision.py)."""
    return [parse_product(p) for p in json.loads(CATALOG.read_text())]


@functools.lru_cache(maxsize=1)
def _products(minute: int) -> dict:
    return {snap.id: parse_product({**snap.to_dict(), "id": snap.id}) for snap in db().collection(PRODUCTS).stream()}


def products() -> list:
    """What is on sale, read at most once a minute per instance."""
    return [p for p in _products(int(clock.now() // 60)).values() if p.on_sale]


def product(product_id: str):
    snap = db().collection(PRODUCTS).document(product_id).get()  # fresh: the price is fixed from it
    if not snap.exists:
        raise NotFound(f"product {product_id} not found", code="product_not_found")
    return parse_product({**snap.to_dict(), "id": snap.id})


def add_user_product(item: UserProduct) -> UserProduct:
    db().collection(PRODUCTS).document(item.id).create(document(item))
    return item


def order_ref(order_id: str):
    return db().collection(ORDERS).document(order_id)


def load_order(order_id: str, txn: Txn | None = None) -> Order:
    return load(order_ref(order_id), Order, "order", txn)


def owners(order_id: str) -> set[str]:
    return {load_order(order_id).user_id}


def of_user(user_id: str) -> list[Order]:
    return sorted(each(where(ORDERS, user_id=user_id), Order), key=lambda o: o.times.get("created", 0), reverse=True)


def pay_url(order_id: str) -> str:
    query = urlencode({"order": order_id, "sig": signing.sign(PAY_LINK, order_id)})
    return f"{settings().shop_url}/shop/checkout/sonet/complete?{query}"


def checkout(user_id: str, request: CheckoutRequest, client_key: steps.ClientKey | None = None) -> Checkout:
    """The order, its amount fixed from the product now; `order.created`; its expiry scheduled."""
    item = product(request.product_id)
    if not item.on_sale:
        raise Conflict("this product is not on sale", code="not_on_sale")
    if isinstance(item, UserProduct) and item.creator_id == user_id:
        raise Conflict("creators do not buy their own products", code="own_product")
    now = clock.now()
    order = Order(id=ids.new_id(), user_id=user_id, product_id=item.id, product_class=item.cls,
                  product=item.model_dump(mode="json", by_alias=True), amount=item.price,
                  times={"created": now}, gateway=Gateway(mp_id=request.mp_id))

    def body(txn: Txn, fx: steps.Effects) -> Checkout:
        txn.create(order_ref(order.id), document(order))
        fx.publish(ORDER_CREATED, OrderCreated(order_id=order.id, user_id=user_id))
        fx.schedule(EXPIRE_ORDER, OrderArgs(order_id=order.id), at=now + settings().order_ttl_seconds)
        return Checkout(order=order, pay_url=pay_url(order.id))

    return steps.run(f"checkout:{order.id}", body, redelivered=False, client_key=client_key)


def move(txn: Txn, order: Order, status: str, **changes) -> Order:
    """The order in its next status (after the transaction's reads); a move the order's status does
    not allow is a 409."""
    if status not in TRANSITIONS.get(order.status, ()):
        raise Conflict(f"an order that is {order.status} cannot become {status}", code="order_status",
                       details={"status": order.status, "wanted": status})
    moved = order.model_copy(update={"status": status, "times": {**order.times, status: clock.now()}, **changes})
    update = {"status": status, f"times.{status}": moved.times[status]}
    update |= {name: document_value(value) for name, value in changes.items()}
    txn.update(order_ref(order.id), update)
    return moved


def document_value(value):
    return value.model_dump(mode="json", by_alias=True) if hasattr(value, "model_dump") else value


MAX_FLAGS = 20  # an order's document stays small however often it is probed


def flag(order_id: str, reason: str, details: dict) -> None:
    """Keep something about the order for review (a return that did not match it, a confirmation
    refused); the first MAX_FLAGS only. Outside any transaction."""
    snap = order_ref(order_id).get()
    if snap.exists and len(snap.get("flags") or []) < MAX_FLAGS:
        order_ref(order_id).update({"flags": array_union([{"reason": reason, "details": details, "at": clock.now()}])})
