"""The shop's signals and tasks (seed 004, "Shop"): each order is created and paid once."""
from __future__ import annotations

from pydantic import BaseModel, Field

from shared.core.options import QueueOptions
from shared.core.registry import REGISTRY, TaskArgs

ID = r"^[0-9a-f]{24}$"


class OrderCreated(BaseModel):
    order_id: str
    user_id: str


class OrderPaid(BaseModel):
    """The seeds' `OrderStatus.success`: the gateway confirmed the payment."""

    order_id: str
    user_id: str


class UserArgs(TaskArgs):
    user_id: str = Field(pattern=ID)

    def task_key(self) -> str:
        return self.user_id


class OrderArgs(TaskArgs):
    order_id: str = Field(pattern=ID)

    def task_key(self) -> str:
        return self.order_id


class ConfirmArgs(TaskArgs):
    order_id: str = Field(pattern=ID)
    sonet_order_no: str = Field(min_length=1, max_length=64)
    attempt: int = Field(1, ge=1, le=100)

    def task_key(self) -> str:
        return f"{self.order_id}-{self.attempt}"


ORDER_CREATED = REGISTRY.signal("order.created", OrderCreated, key=lambda e: e.order_id)
ORDER_PAID = REGISTRY.signal("order.paid", OrderPaid, key=lambda e: e.order_id)

REGISTRY.queue("shop", QueueOptions(max_dispatches_per_second=50, max_concurrent_dispatches=20))
PROVISION_WALLET_AND_BANK_ACCOUNT = REGISTRY.task("provision_wallet_and_bank_account", queue="shop", args=UserArgs)
EXPIRE_ORDER = REGISTRY.task("expire_order", queue="shop", args=OrderArgs)
CONFIRM_PAYMENT = REGISTRY.task("confirm_payment", queue="shop", args=ConfirmArgs)
