"""The So-net payment chain (seed 004, "Checkout"), on our side:

    pay_url  /shop/checkout/sonet/complete?order&sig   authOrder (once), the order pending
    -> /redirect-out?session=shop-checkout-sonet-{order}&next&resume   `resume` kept in a signed,
         HttpOnly cookie scoped to /redirect-in
    -> /tools/POST.html?action=<the gateway's paymentRule.php?...>   the GET turned into the form
         POST the gateway wants (no other action: not an open redirect)
    -> the gateway's payment page -> its result, form-POSTed to returnUrl = `resume`:
    -> /notify/sonet?metadata&next   metadata verified first; `ok`: confirmOrder, then `order.paid`
    -> `next` = /redirect-in/shop-checkout-{order}   the order shown (what was bought only to the
         browser whose cookie names it), the cookie cleared.

The paid notice comes to the same /notify/sonet. However returns, notices, failure results,
reloads and retries interleave, a claim lets one caller confirm (or fail) at a time, a paid order
is not confirmed again, and the `order_paid` step marks the order paid once: one confirmation, one
`order.paid`. confirmOrder is the authority: a failed or expired order it confirms becomes paid.
"""
from __future__ import annotations

import html
import logging
import secrets
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

from shared.core import claims, clock, steps
from shared.core.config import settings
from shared.core.errors import AlreadyApplied, AppError, Conflict, Forbidden, Retry, ValidationFailed
from shared.core.firestore import Txn
from shared.core.http import Cookie, Html, Redirect, Response
from shared.core.steps import Effects
from shared.shop import orders, signing, sonet
from shared.shop.models import Order
from shared.shop.signals import CONFIRM_PAYMENT, ORDER_PAID, ConfirmArgs, OrderPaid

log = logging.getLogger(__name__)
SESSION_COOKIE, COOKIE_PATH, COOKIE_SEAL = "redirect_session", "/redirect-in", "redirect"
PAID_OR_LATER = ("paid", "fulfilled", "refunded")
CONFIRM_TRIES = 3  # in the request (3 x sonet.TIMEOUT stays inside a claim's lease); then the task
CONFIRM_BACKSTOP_SECONDS = 15  # when the confirm_payment task checks a confirmation made in a request


class GatewayUnavailable(AppError):
    status, code, retryable = 502, "gateway_unavailable", True


def landing_url(order_id: str) -> str:
    return f"{settings().shop_url}/redirect-in/shop-checkout-{order_id}"


def _metadata(order: Order) -> str:
    fields = {"icpId": settings().sonet_icp_id, "icpOrderId": order.id, "price": order.amount,
              "mpId": order.gateway.mp_id}
    return signing.metadata_token(fields, issued_at=order.times["created"])


def resume_url(order: Order) -> str:
    """The gateway's returnUrl: /notify/sonet with the signed metadata and where to land after."""
    return f"{settings().shop_url}/notify/sonet?" + urlencode({"metadata": _metadata(order),
                                                                "next": landing_url(order.id)})


def start(order_id: str, signature: str) -> str:
    """Where the payer's browser goes from the payment link: into the chain, or to the order's page
    once it is past paying."""
    if not signing.verify(orders.PAY_LINK, order_id, signature):
        raise Forbidden("this payment link is not valid", code="bad_payment_link")
    order = orders.load_order(order_id)
    if order.status not in ("created", "pending"):
        return landing_url(order.id)
    auth_code = order.gateway.auth_code or _authorize(order)
    rule = {"icpId": settings().sonet_icp_id, "icpOrderId": order.id, "icpProdId": order.product_id,
            "mpId": order.gateway.mp_id, "memo": f"Order {order.id}", "icpUserId": order.user_id, "authCode": auth_code}
    action = f"{sonet.payment_url()}?{urlencode(rule)}"
    next_url = f"{settings().shop_url}/tools/POST.html?{urlencode({'action': action})}"
    return f"{settings().shop_url}/redirect-out?" + urlencode(
        {"session": f"shop-checkout-sonet-{order.id}", "next": next_url, "resume": resume_url(order)})


def _authorize(order: Order) -> str:
    """authOrder, then the order pending with its authCode (a concurrent start keeps the first)."""
    try:
        code = sonet.auth_order(order.id, order.product_id, order.gateway.mp_id, order.user_id,
                                order.product.get("name", order.product_id), order.amount, resume_url(order))
    except sonet.GatewayError as trouble:
        raise GatewayUnavailable(f"the payment gateway is unavailable: {trouble}") from None
    except sonet.Refused as refused:
        raise GatewayUnavailable(f"the payment gateway refused the order: {refused}", code="gateway_refused") from None

    def body(txn: Txn, fx: Effects) -> str:
        current = orders.load_order(order.id, txn)
        if current.gateway.auth_code:
            return current.gateway.auth_code
        orders.move(txn, current, "pending", gateway=current.gateway.model_copy(update={"auth_code": code}))
        return code

    return steps.run(f"order_pending:{order.id}:{code}", body, redelivered=False, claim=f"order:{order.id}")


def _own(url: str) -> bool:
    base = settings().shop_url + "/"
    return url.startswith(base) and "\\" not in url and urlsplit(url).netloc == urlsplit(base).netloc


def redirect_out(session: str, next_url: str, resume: str) -> Response:
    """Keep where to resume in a cookie only /redirect-in receives, and go on to `next`."""
    if not (_own(next_url) and _own(resume)) or not session.startswith("shop-checkout-"):
        raise ValidationFailed("next and resume must be this shop's own addresses", code="bad_redirect")
    value = signing.seal(COOKIE_SEAL, {"session": session, "resume": resume, "exp": clock.now() + 3600})
    cookie = Cookie(SESSION_COOKIE, value, max_age=3600, path=COOKIE_PATH,
                    secure=settings().shop_url.startswith("https://"))
    return Redirect(next_url, 302, cookies=[cookie])


def post_form(action: str) -> Response:
    """A page that form-POSTs the action's query to the gateway's payment page, and nowhere else."""
    parts = urlsplit(action)
    gateway = urlsplit(sonet.payment_url())
    if (parts.scheme, parts.netloc, parts.path) != (gateway.scheme, gateway.netloc, gateway.path) or parts.fragment:
        raise ValidationFailed("the action must be the payment gateway's page", code="bad_action")
    fields = parse_qsl(parts.query, keep_blank_values=True)
    nonce = secrets.token_urlsafe(16)
    inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields)
    target = html.escape(f"{gateway.scheme}://{gateway.netloc}{gateway.path}")
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>To the payment page</title></head><body>'
            f'<form id="pay" method="post" action="{target}">{inputs}<noscript><button>Continue to pay</button>'
            f'</noscript></form><script nonce="{nonce}">document.getElementById("pay").submit();</script>'
            '</body></html>')
    policy = (f"default-src 'none'; script-src 'nonce-{nonce}'; form-action {gateway.scheme}://{gateway.netloc}; "
              "base-uri 'none'; frame-ancestors 'none'")
    return Html(page, headers={"Content-Security-Policy": policy, "Referrer-Policy": "no-referrer",
                               "Cache-Control": "no-store"})


RESULT_FIELDS = ("resultCode", "resultMesg", "icpId", "icpOrderId", "icpProdId", "mpId", "price", "icpUserId",
                 "sonetOrderNo")


def notify(metadata: str, next_url: str, result: dict[str, str]) -> Response:
    """The gateway's result (the browser's return or the paid notice): metadata first, then the
    result checked against the order; `ok` is confirmed with the gateway before the order is paid."""
    claims_ = signing.read_metadata(metadata)
    order_id = str(claims_["icpOrderId"])
    if next_url != landing_url(order_id):
        raise ValidationFailed("next must be the order's page", code="bad_redirect")
    if not result:  # a reload of the landing step without the gateway's fields
        return Redirect(next_url, 303)
    result = {name: str(result.get(name, ""))[:100] for name in RESULT_FIELDS}  # what is read, and kept if flagged
    paid = result["resultCode"] == sonet.PAID
    if not result["resultCode"] or (paid and not result["sonetOrderNo"]):
        raise ValidationFailed("the payment result lacks its resultCode or sonetOrderNo", code="bad_result")
    order = orders.load_order(order_id)
    mismatch = {name: (got, want) for name, got, want in (
        ("icpOrderId", result["icpOrderId"], order_id), ("price", result["price"], str(claims_["price"])),
        ("amount", str(claims_["price"]), str(order.amount)), ("icpId", result["icpId"], str(claims_["icpId"])),
        ("mpId", result["mpId"], str(claims_["mpId"]))) if got != want}
    if mismatch:
        orders.flag(order_id, "return_mismatch", {"fields": mismatch, "result": result})
        raise ValidationFailed("the payment result does not match the order", code="payment_mismatch",
                               details=sorted(mismatch))
    if paid:
        confirm(order_id, result["sonetOrderNo"])
    else:
        fail(order_id, result["resultMesg"] or result["resultCode"])
    return Redirect(next_url, 303)


def _confirming(order_id: str):
    """The one claim under which an order's payment is confirmed or failed."""
    done = lambda: orders.load_order(order_id).status in PAID_OR_LATER  # noqa: E731
    return claims.held(f"sonet-confirm:{order_id}", wait=30, ready=done)


def confirm(order_id: str, sonet_order_no: str, *, from_task: bool = False) -> str:
    """confirmOrder, then the order paid and `order.paid` once, under the order's confirmation claim
    (the steps inside never contend). Before the gateway is asked, the confirm_payment task is
    scheduled as a backstop (a process that dies or a gateway that does not answer is made good by
    it; it finds a paid order and asks nothing); the task retries by raising."""
    try:
        with _confirming(order_id) as held:
            if not held:
                return "already paid"
            order = orders.load_order(order_id)
            if order.status in PAID_OR_LATER:
                return "already paid"
            if not from_task:  # under the claim: concurrent returns do not contend on one step
                _backstop(order_id, sonet_order_no)
            if order.status not in ("pending", "expired", "failed"):
                orders.flag(order_id, f"paid_while_{order.status}", {"sonetOrderNo": sonet_order_no})
                return f"not confirmed: the order is {order.status}"
            for attempt in range(1, CONFIRM_TRIES + 1):
                try:
                    sonet.confirm_order(order_id, sonet_order_no)
                    break
                except sonet.Refused as refused:
                    orders.flag(order_id, "confirm_refused", refused.answer)
                    return f"not confirmed: {refused}"
                except sonet.GatewayError as trouble:
                    if attempt == CONFIRM_TRIES:
                        if from_task:
                            raise Retry(f"confirmOrder: {trouble}") from None
                        return "left to the confirm_payment task"
                    time.sleep(0.5 * attempt)
            return _mark_paid(order_id, sonet_order_no)
    except claims.ClaimTimeout:
        if from_task:
            raise Retry("another confirmation is under way") from None
        return "another confirmation is under way"


def _backstop(order_id: str, sonet_order_no: str) -> None:
    def body(txn: Txn, fx: Effects) -> None:
        fx.schedule(CONFIRM_PAYMENT, ConfirmArgs(order_id=order_id, sonet_order_no=sonet_order_no),
                    at=clock.now() + CONFIRM_BACKSTOP_SECONDS)

    try:
        steps.run(f"confirm_backstop:{order_id}:{sonet_order_no}", body, redelivered=False)
    except AlreadyApplied:
        pass


def _mark_paid(order_id: str, sonet_order_no: str) -> str:
    def body(txn: Txn, fx: Effects) -> str:
        order = orders.load_order(order_id, txn)
        paid = orders.move(txn, order, "paid",
                           gateway=order.gateway.model_copy(update={"sonet_order_no": sonet_order_no}))
        fx.publish(ORDER_PAID, OrderPaid(order_id=paid.id, user_id=paid.user_id))
        return "paid"

    try:
        return steps.run(f"order_paid:{order_id}", body, redelivered=False)
    except AlreadyApplied:
        return "already paid"
    except Conflict as refused:  # the gateway took the money for an order that cannot be paid now: keep it for review
        orders.flag(order_id, "confirmed_but_not_payable", {"sonetOrderNo": sonet_order_no, "why": refused.message})
        return f"confirmed, flagged: {refused.message}"


def fail(order_id: str, message: str) -> None:
    """A declined or failed payment: the order failed (once), nothing credited; under the same claim
    as a confirmation, and an order already paid stays paid. A later confirmed payment still wins."""
    def body(txn: Txn, fx: Effects) -> None:
        order = orders.load_order(order_id, txn)
        if order.status in ("created", "pending"):
            orders.move(txn, order, "failed",
                        gateway=order.gateway.model_copy(update={"result_message": message[:200]}))

    try:
        with _confirming(order_id) as held:
            if held:
                steps.run(f"order_failed:{order_id}", body, redelivered=False)
    except (AlreadyApplied, claims.ClaimTimeout):
        pass


def landing(order_id: str, cookie: str | None) -> Response:
    """/redirect-in/shop-checkout-{order}: the page that shows the order. The browser that started
    the payment (its redirect cookie names this order) sees what was bought, and the cookie is
    cleared; anyone else, or a reload, sees the status only."""
    order = orders.load_order(order_id)
    session = signing.unseal(COOKIE_SEAL, cookie or "")
    mine = (session is not None and session.get("session") == f"shop-checkout-sonet-{order.id}"
            and session.get("exp", 0) > clock.now())
    settled = order.status in ("fulfilled", "failed", "expired", "refunded")
    refresh = "" if settled else '<meta http-equiv="refresh" content="2">'
    what = (f'<p>{html.escape(str(order.product.get("name", order.product_id)))} &middot; NT$ {order.amount}</p>'
            if mine else "")
    page = (f'<!doctype html><html><head><meta charset="utf-8">{refresh}<title>Your order</title></head><body>'
            f'<h1>Order {html.escape(order.id)}</h1>{what}<p>Status: <strong id="status">{html.escape(order.status)}'
            '</strong></p></body></html>')
    clear = Cookie(SESSION_COOKIE, "", max_age=0, path=COOKIE_PATH, secure=settings().shop_url.startswith("https://"))
    return Html(page, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
                cookies=[clear] if mine else [])
