"""So-net mpay (seed 004, "Checkout"): the gateway's protocol, for our adapter and the local server.

Server to server, form POSTs to `microPaymentPost.php`:
    doAction=authOrder    icpId, icpOrderId, icpProdId, mpId, memo, icpUserId, icpProdDesc, price, returnUrl
    doAction=confirmOrder icpId, icpOrderId, sonetOrderNo
each answered as keys joined by `|`, a TAB, the values joined by `|`; `resultCode` 00000 is
success, and authOrder's answer carries the `authCode`.
The browser form-POSTs icpId, icpOrderId, icpProdId, mpId, memo, icpUserId, authCode to
`paymentRule.php`, pays there, and the gateway form-POSTs the result to `returnUrl`: `resultCode`
`ok` or a failure with `resultMesg`, with icpId, icpOrderId, price, sonetOrderNo, mpId, ... Some
methods also post that result server to server later (the paid notice).
"""
from __future__ import annotations

import functools
import ssl

from shared.core.config import settings

SUCCESS = "00000"  # a server-to-server answer's resultCode
PAID = "ok"  # the returned result's resultCode when the payment went through
AUTH_ORDER, CONFIRM_ORDER = "authOrder", "confirmOrder"
POST_PATH, PAYMENT_PATH = "/microPaymentPost.php", "/paymentRule.php"
TIMEOUT = 8  # seconds; the gateway answers well within it (payment.CONFIRM_TRIES of them fit a claim's lease)


class GatewayError(Exception):
    """The gateway could not be reached or answered nothing we can read: worth retrying."""


class Refused(Exception):
    """The gateway answered with a resultCode other than success."""

    def __init__(self, answer: dict[str, str]):
        self.answer = answer
        super().__init__(f"{answer.get('resultCode')}: {answer.get('resultMesg')}")


def encode_answer(fields: dict[str, str]) -> str:
    """`k1|k2|...<TAB>v1|v2|...` (the gateway's values never hold `|` or a TAB)."""
    return "|".join(fields) + "\t" + "|".join(str(v) for v in fields.values())


def parse_answer(text: str) -> dict[str, str]:
    keys, sep, values = text.strip("\r\n").partition("\t")
    names, found = keys.split("|"), values.split("|")
    if not sep or len(names) != len(found) or "resultCode" not in names:
        raise GatewayError(f"unreadable gateway answer: {text[:200]!r}")
    return dict(zip(names, found, strict=True))


def payment_url() -> str:
    """Where the browser form-POSTs to pay (POST.html accepts no other action)."""
    return settings().sonet_url + PAYMENT_PATH


class _LowerSecurityLevel:
    """So-net's hosts need OpenSSL's security level lowered (public integrations say 1)."""

    def __init__(self, level: int):
        self.level = level

    def adapter(self):
        from requests.adapters import HTTPAdapter

        level = self.level

        class Adapter(HTTPAdapter):
            def init_poolmanager(self, *args, **kwargs):
                context = ssl.create_default_context()
                context.set_ciphers(f"DEFAULT@SECLEVEL={level}")
                kwargs["ssl_context"] = context
                return super().init_poolmanager(*args, **kwargs)

        return Adapter()


@functools.cache
def _session():
    import requests

    session = requests.Session()
    session.mount("https://", _LowerSecurityLevel(settings().sonet_openssl_seclevel).adapter())
    return session


def call(action: str, fields: dict[str, str]) -> dict[str, str]:
    """One server-to-server call; the answer when its resultCode is success, else Refused.
    GatewayError when the gateway is unreachable or answers an HTTP error (retry later)."""
    import requests

    form = {"icpId": settings().sonet_icp_id, **fields, "doAction": action}
    try:
        response = _session().post(settings().sonet_url + POST_PATH, data=form, timeout=TIMEOUT)
    except requests.RequestException as trouble:
        raise GatewayError(f"{action}: {trouble}") from None
    if response.status_code != 200:
        raise GatewayError(f"{action}: HTTP {response.status_code}")
    answer = parse_answer(response.text)
    if answer["resultCode"] != SUCCESS:
        raise Refused(answer)
    return answer


def auth_order(order_id: str, product_id: str, mp_id: str, user_id: str, description: str, price: int,
               return_url: str) -> str:
    """authOrder: the authCode the browser pays with."""
    answer = call(AUTH_ORDER, {"icpOrderId": order_id, "icpProdId": product_id, "mpId": mp_id,
                               "memo": f"Order {order_id}", "icpUserId": user_id, "icpProdDesc": description,
                               "price": str(price), "returnUrl": return_url})
    if not answer.get("authCode"):
        raise GatewayError(f"authOrder answered no authCode: {answer}")
    return answer["authCode"]


def confirm_order(order_id: str, sonet_order_no: str) -> dict[str, str]:
    return call(CONFIRM_ORDER, {"icpOrderId": order_id, "sonetOrderNo": sonet_order_no})
