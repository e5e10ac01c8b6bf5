"""The shop's receivers and tasks (seed 004): `order.created` opens the buyer's ledger accounts
(`ensure_wallet_and_bank` -> `provision_wallet_and_bank_account`), `order.paid` fulfils the order
by its product's class, an unpaid order expires, a confirmation the gateway did not answer is
retried. Each is one idempotent step (or idempotent by itself)."""
from __future__ import annotations

from pydantic import BaseModel

from shared.core import clock, steps
from shared.core.errors import AlreadyApplied
from shared.core.firestore import Txn
from shared.core.options import FunctionOptions
from shared.core.pusher import user_channel
from shared.core.registry import REGISTRY
from shared.core.steps import Effects
from shared.ledger import service as ledger
from shared.shop import fulfilment, orders, payment
from shared.shop.signals import (
    CONFIRM_PAYMENT,
    EXPIRE_ORDER,
    ORDER_CREATED,
    ORDER_PAID,
    PROVISION_WALLET_AND_BANK_ACCOUNT,
    ConfirmArgs,
    OrderArgs,
    OrderCreated,
    OrderPaid,
    UserArgs,
)


class OrderFulfilled(BaseModel):
    """`order.fulfilled` on `private-user@{buyer}`."""

    order_id: str
    product_id: str
    fulfilment: dict


@REGISTRY.receiver(ORDER_CREATED, options=FunctionOptions(secrets=("TASK_SECRET",)))
def ensure_wallet_and_bank(txn: Txn, fx: steps.Effects, event: OrderCreated) -> None:
    fx.schedule(PROVISION_WALLET_AND_BANK_ACCOUNT, UserArgs(user_id=event.user_id), at=clock.now())


@REGISTRY.receiver(ORDER_PAID, options=FunctionOptions(secrets=("PUSHER_SECRET",)))
def fulfill_order(txn: Txn, fx: steps.Effects, event: OrderPaid) -> None:
    order = fulfilment.fulfil(txn, event.order_id)
    fx.notify([user_channel(order.user_id)], "order.fulfilled",
              OrderFulfilled(order_id=order.id, product_id=order.product_id, fulfilment=order.fulfilment or {}))


@PROVISION_WALLET_AND_BANK_ACCOUNT.handles
def provision_wallet_and_bank_account(args: UserArgs) -> str:
    return f"{ledger.open_accounts(args.user_id)} balance documents created"


@EXPIRE_ORDER.handles
def expire_order(args: OrderArgs) -> str:
    """An order still unpaid when its time is up expires (a payment that comes later still counts)."""
    def body(txn: Txn, fx: Effects) -> str:
        order = orders.load_order(args.order_id, txn)
        if order.status not in ("created", "pending"):
            return f"left {order.status}"
        orders.move(txn, order, "expired")
        return "expired"

    try:
        return steps.run(f"expire_order:{args.order_id}", body)
    except AlreadyApplied:
        return "already expired"


@CONFIRM_PAYMENT.handles
def confirm_payment(args: ConfirmArgs) -> str:
    return payment.confirm(args.order_id, args.sonet_order_no, from_task=True)
