"""HTTP routes of the shop: products, checkout, orders, the So-net payment chain, refunds."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from shared.accounts import service as accounts
from shared.core import ids, steps
from shared.core.config import settings
from shared.core.http import Call, Redirect, Response, parse_form
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.shop import fulfilment, orders, payment
from shared.shop.models import (
    Checkout,
    CheckoutRequest,
    Order,
    Orders,
    Products,
    Refund,
    UserProduct,
    creator_earnings,
)

SURFACE = REGISTRY.surface("shop", FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=50,
                                                   secrets=("JWT_SECRET", "TASK_SECRET", "SHOP_SECRET")))
ORDER = REGISTRY.owner("order", "order_id", orders.owners)
route = REGISTRY.route
Url = Annotated[str, Field(min_length=1, max_length=4096)]


class UserProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=140)]
    price: Annotated[StrictInt, Field(gt=0, le=1_000_000, description="New Taiwan dollars")]


class PayLink(BaseModel):
    order: Annotated[str, Field(pattern=r"^[0-9a-f]{24}$")]
    sig: Annotated[str, Field(min_length=1, max_length=64)]


class RedirectOut(BaseModel):
    session: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,80}$")]
    next: Url
    resume: Url


class PostAction(BaseModel):
    action: Url


class GatewayReturn(BaseModel):
    metadata: Annotated[str, Field(min_length=1, max_length=4096)]
    next: Url


@route("GET", "/shop/products", surface=SURFACE, response=Products, summary="What is on sale")
def list_products(call: Call) -> Products:
    return Products(products=orders.products())


@route("POST", "/me/products", surface=SURFACE, scope="role:creator", body=UserProductCreate, response=UserProduct,
       status=201,
       summary="Sell something of yours: buyers get it in their backpack, you earnings per sale set from its price")
def create_user_product(call: Call) -> UserProduct:
    accounts.require_may_earn(call.caller.user_id)  # seed 004: a tw creator is verified before earning
    product_id = f"user_product_{ids.new_id()}"
    earned = creator_earnings(call.body.price, settings().platform_share_percent)
    return orders.add_user_product(UserProduct(id=product_id, creator_id=call.caller.user_id,
                                               creator_diamonds=earned, **call.body.model_dump()))


@route("POST", "/shop/checkout", surface=SURFACE, body=CheckoutRequest, response=Checkout, status=201, idempotent=True,
       summary="Create an order (its amount fixed from the product now); open pay_url in a browser to pay")
def checkout(call: Call) -> Checkout:
    return orders.checkout(call.caller.user_id, call.body, call.client_key)


@route("GET", "/shop/orders/{order_id}", surface=SURFACE, owner=ORDER, response=Order, summary="One of your orders")
def get_order(call: Call) -> Order:
    return orders.load_order(call.params["order_id"])


@route("GET", "/me/orders", surface=SURFACE, response=Orders, summary="Your orders, newest first")
def my_orders(call: Call) -> Orders:
    return Orders(orders=orders.of_user(call.caller.user_id))


@route("POST", "/admin/orders/{order_id}/refund", surface=SURFACE, scope="role:admin", response=Refund, idempotent=True,
       summary="Reverse a fulfilled order: unspent diamonds taken back, a pass or item revoked; "
               "what was spent is reported")
def refund_order(call: Call) -> Refund:
    order_id = call.params["order_id"]
    return steps.run(f"refund_order:{order_id}", lambda txn, fx: fulfilment.refund(txn, order_id), redelivered=False,
                     client_key=call.client_key)


# The payment chain: browser navigations (no bearer token), each checked on its own (payment.py)
@route("GET", "/shop/checkout/sonet/complete", surface=SURFACE, public=True, query=PayLink, errors=(403, 502),
       summary="The payment link: authorizes the order with So-net, then into the redirect chain (302)")
def start_payment(call: Call) -> Response:
    return Redirect(payment.start(call.query.order, call.query.sig))


@route("GET", "/redirect-out", surface=SURFACE, public=True, query=RedirectOut,
       summary="Keeps `resume` in a signed HttpOnly cookie for /redirect-in, then 302 to `next` "
               "(this shop's own URLs only)")
def redirect_out(call: Call) -> Response:
    return payment.redirect_out(call.query.session, call.query.next, call.query.resume)


@route("GET", "/tools/POST.html", surface=SURFACE, public=True, query=PostAction,
       summary="Turns the GET into the form POST the payment gateway wants; only the gateway's payment page as action")
def post_html(call: Call) -> Response:
    return payment.post_form(call.query.action)


@route("POST", "/notify/sonet", surface=SURFACE, public=True, query=GatewayReturn, raw=True, errors=(401,),
       summary="So-net's result (the browser's return or the paid notice): metadata verified first, then confirmOrder "
               "and order.paid once; 303 to `next`")
def notify_sonet(call: Call) -> Response:
    result = {k: v for k, v in parse_form(call.body).items() if isinstance(v, str)}
    return payment.notify(call.query.metadata, call.query.next, result)


@route("GET", "/notify/sonet", surface=SURFACE, public=True, query=GatewayReturn, errors=(401,),
       summary="A reload of the return without its form: 303 to `next`")
def notify_sonet_reload(call: Call) -> Response:
    return payment.notify(call.query.metadata, call.query.next, {})


@route("GET", "/redirect-in/shop-checkout-{order_id}", surface=SURFACE, public=True,
       summary="The end of the chain: clears the redirect cookie and shows the order's status")
def redirect_in(call: Call) -> Response:
    return payment.landing(call.params["order_id"], call.cookies.get(payment.SESSION_COOKIE))
