"""A payer's browser without JavaScript, for the So-net chain: it follows the redirects, posts the
forms the pages would auto-submit, and clicks Pay or Decline on the local gateway's page."""
from __future__ import annotations

import html
import os
import re

import requests

from tests.support import User, wait_until

FORM_FIELD = re.compile(r"""name=["']([^"']+)["'] value=["']([^"']*)["']""")
FORM_ACTION = re.compile(r"""<form[^>]*action=["']([^"']+)["']""")


def form(page: str) -> tuple[str, dict[str, str]]:
    """The first form of a page: its action and hidden fields."""
    action = html.unescape(FORM_ACTION.search(page).group(1))
    return action, {html.unescape(k): html.unescape(v) for k, v in FORM_FIELD.findall(page)}


def gateway() -> str:
    return os.environ["SONET_URL"]


def set_scenario(order_id: str, **scenario) -> None:
    response = requests.put(f"{gateway()}/scenarios/{order_id}", json=scenario, timeout=10)
    assert response.status_code == 200, response.text


def gateway_calls(order_id: str, call: str | None = None) -> list[dict]:
    calls = requests.get(f"{gateway()}/calls", timeout=10).json()
    return [c for c in calls if c["icpOrderId"] == order_id and (call is None or c["call"] == call)]


class Payer:
    def __init__(self, api, user: User):
        self.api, self.user, self.browser = api, user, requests.Session()
        self.chain: list[requests.Response] = []  # the redirects to the payment page, last time

    def checkout(self, product_id: str = "diamond_150", key: str | None = None) -> dict:
        headers = {"Idempotency-Key": key} if key else {}
        response = self.api.call("POST", "/shop/checkout", self.user, headers=headers,
                                 json={"product_id": product_id, "gateway": "sonet", "mp_id": "GASH_GPAY"})
        assert response.status_code == 201, response.text
        return response.json()

    def to_payment_page(self, pay_url: str) -> str:
        """From the payment link to the gateway's page, as the browser goes (the redirect cookie kept)."""
        post_html = self.browser.get(pay_url)  # 302 -> /redirect-out -> 302 -> /tools/POST.html
        assert post_html.status_code == 200 and "/tools/POST.html" in post_html.url, post_html.text
        self.chain = [*post_html.history, post_html]
        action, fields = form(post_html.text)
        page = self.browser.post(action, data=fields)
        assert page.status_code == 200 and 'id="pay"' in page.text.replace("'", '"'), page.text
        return page.text

    def choose(self, page: str, choice: str = "pay") -> tuple[str, dict[str, str]]:
        """Click Pay or Decline: the result page's form (returnUrl and the result's fields)."""
        action, fields = form(page)
        result = self.browser.post(gateway() + action if action.startswith("/") else action,
                                   data={**fields, "choice": choice})
        assert result.status_code == 200, result.text
        return form(result.text)

    def return_to_shop(self, return_url: str, result: dict[str, str]) -> requests.Response:
        """Post the result back as the page would, and land on the order's page."""
        return self.browser.post(return_url, data=result)

    def pay(self, pay_url: str, choice: str = "pay") -> requests.Response:
        return_url, result = self.choose(self.to_payment_page(pay_url), choice)
        return self.return_to_shop(return_url, result)

    def order(self, order_id: str) -> dict:
        return self.api.call("GET", f"/shop/orders/{order_id}", self.user).json()

    def wait_for(self, order_id: str, status: str, timeout: float = 20) -> dict:
        return wait_until(lambda: (o := self.order(order_id))["status"] == status and o, timeout=timeout,
                          what=f"order {order_id} to be {status}")

    def balance(self) -> int:
        return self.api.call("GET", "/wallet", self.user).json()["balance"]
