"""A local So-net mpay gateway speaking the protocol of shared/shop/sonet.py, with a payment page a
person or a browser test clicks.

    python -m shared.localstack.sonet --port 8131     (./emulators.sh starts it as `sonet`, SONET_PORT)

    POST /microPaymentPost.php   doAction=authOrder | confirmOrder (server to server)
    POST /paymentRule.php        the browser arrives to pay: the payment page (buttons #pay, #decline)
    POST /pay                    the page's answer: the result is form-POSTed back to the order's returnUrl
    PUT  /scenarios/{icpOrderId} JSON, how this order's payment goes (tests; see Scenario)
    GET  /calls                  every server-to-server call and paid notice, oldest first (tests)
    GET  /healthz

authOrder keeps the order (icpId must be ours, price a positive integer, returnUrl http(s));
repeating it with the same fields answers the same authCode, with other fields 10002. Paying
gives the order a sonetOrderNo; confirmOrder answers 00000 for a paid order with its number
(again on a repeat), 20001 for an unknown order or number, 20002 for an order not paid.
"""
from __future__ import annotations

import html
import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from shared.core.config import settings
from shared.localstack.serving import serve
from shared.shop import sonet

AUTH_FIELDS = ("icpOrderId", "icpProdId", "mpId", "memo", "icpUserId", "icpProdDesc", "price", "returnUrl")


@dataclass
class Scenario:
    """How one order's payment goes. `notice`: the paid notice server to server, never (none), before
    the browser's return (first), twice after it (twice), or at the same moment as it (concurrent).
    `return_delay_ms`: the browser waits this long before posting the result. `confirm_failures`:
    this many confirmOrder calls answer HTTP 503 first (a transient failure); `confirm_timeouts`:
    this many answer only after the client's timeout (the gateway confirmed, the client never heard)."""

    notice: str = "none"
    return_delay_ms: int = 0
    confirm_failures: int = 0
    confirm_timeouts: int = 0


@dataclass
class Order:
    fields: dict[str, str]
    auth_code: str
    state: str = "authorized"  # authorized -> paid | declined
    sonet_order_no: str | None = None
    scenario: Scenario = field(default_factory=Scenario)


class SonetGateway:
    def __init__(self, icp_id: str):
        self.icp_id = icp_id
        self.lock = threading.Lock()
        self.orders: dict[str, Order] = {}
        self.scenarios: dict[str, Scenario] = {}
        self.calls: list[dict] = []

    def __call__(self, environ, start_response):
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        route = (request.method, request.path)
        if route == ("GET", "/healthz"):
            return _json({"status": "ok", "service": "sonet-mpay"})
        if route == ("GET", "/calls"):
            with self.lock:
                return _json(list(self.calls))
        if request.method == "PUT" and request.path.startswith("/scenarios/"):
            return self.set_scenario(request.path.removeprefix("/scenarios/"), request.get_json(silent=True))
        if route == ("POST", sonet.POST_PATH):
            return self.server_call(request.form.to_dict())
        if route == ("POST", sonet.PAYMENT_PATH):
            return self.payment_page(request.form.to_dict())
        if route == ("POST", "/pay"):
            return self.pay(request.form.to_dict())
        return _json({"error": "not found"}, 404)

    def set_scenario(self, order_id: str, body) -> Response:
        try:
            scenario = Scenario(**(body or {}))
        except TypeError as wrong:
            return _json({"error": str(wrong)}, 400)
        if scenario.notice not in ("none", "first", "twice", "concurrent"):
            return _json({"error": f"unknown notice {scenario.notice!r}"}, 400)
        with self.lock:
            self.scenarios[order_id] = scenario
            if order_id in self.orders:
                self.orders[order_id].scenario = scenario
        return _json(asdict(scenario))

    def server_call(self, form: dict[str, str]) -> Response:
        action, order_id, slow = form.get("doAction"), form.get("icpOrderId", ""), False
        with self.lock:
            if action == sonet.AUTH_ORDER:
                answer = self.auth_order(form)
            elif action == sonet.CONFIRM_ORDER:
                order = self.orders.get(order_id)
                if order and order.scenario.confirm_failures > 0:
                    order.scenario.confirm_failures -= 1
                    self.calls.append({"time": time.time(), "call": action, "icpOrderId": order_id, "status": 503})
                    return Response("Service Unavailable", status=503)
                if order and order.scenario.confirm_timeouts > 0:
                    slow = True
                    order.scenario.confirm_timeouts -= 1
                answer = self.confirm_order(form)
            else:
                answer = {"resultCode": "10000", "resultMesg": f"unknown doAction {action}"}
            self.calls.append({"time": time.time(), "call": action, "icpOrderId": order_id, **answer,
                               **({"status": "timeout"} if action == sonet.CONFIRM_ORDER and slow else {})})
        if action == sonet.CONFIRM_ORDER and slow:
            time.sleep(sonet.TIMEOUT + 1)  # past the client's patience
        return Response(sonet.encode_answer(answer), content_type="text/plain; charset=utf-8")

    def auth_order(self, form: dict[str, str]) -> dict[str, str]:
        order_id = form.get("icpOrderId", "")
        if form.get("icpId") != self.icp_id:
            return {"resultCode": "10001", "resultMesg": "unknown icpId"}
        missing = [name for name in AUTH_FIELDS if not form.get(name)]
        if missing:
            return {"resultCode": "10003", "resultMesg": f"missing {','.join(missing)}"}
        if (not form["price"].isdigit() or int(form["price"]) <= 0
                or urlsplit(form["returnUrl"]).scheme not in ("http", "https")):
            return {"resultCode": "10004", "resultMesg": "bad price or returnUrl"}
        fields = {name: form[name] for name in AUTH_FIELDS}
        known = self.orders.get(order_id)
        if known and known.fields != fields:
            return {"resultCode": "10002", "resultMesg": "icpOrderId already used"}
        if known is None:
            known = self.orders[order_id] = Order(fields, secrets.token_hex(16),
                                                  scenario=self.scenarios.get(order_id, Scenario()))
        return {"resultCode": sonet.SUCCESS, "resultMesg": "success", "icpOrderId": order_id,
                "authCode": known.auth_code}

    def confirm_order(self, form: dict[str, str]) -> dict[str, str]:
        order = self.orders.get(form.get("icpOrderId", ""))
        if order is None or form.get("icpId") != self.icp_id:
            return {"resultCode": "20001", "resultMesg": "unknown order"}
        if order.state != "paid":
            return {"resultCode": "20002", "resultMesg": "order not paid"}
        assert order.sonet_order_no is not None  # pay() numbers an order as it marks it paid
        if form.get("sonetOrderNo") != order.sonet_order_no:
            return {"resultCode": "20001", "resultMesg": "unknown sonetOrderNo"}
        return {"resultCode": sonet.SUCCESS, "resultMesg": "confirmed", "icpOrderId": form["icpOrderId"],
                "sonetOrderNo": order.sonet_order_no}

    def payment_page(self, form: dict[str, str]) -> Response:
        with self.lock:
            order = self.orders.get(form.get("icpOrderId", ""))
            valid = order is not None and form.get("authCode") == order.auth_code and form.get("icpId") == self.icp_id
        if order is None or not valid:
            return _page("Payment refused", "<p id='refused'>This payment request is not valid.</p>", status=400)
        f = {k: html.escape(v) for k, v in order.fields.items()}
        body = (f"<p>{f['icpProdDesc']} ({f['icpProdId']}) paid with {f['mpId']}</p>"
                f"<p>Amount: NT$ <span id='price'>{f['price']}</span></p>"
                f"<form method='post' action='/pay'><input type='hidden' name='icpOrderId' value='{f['icpOrderId']}'>"
                f"<input type='hidden' name='authCode' value='{html.escape(order.auth_code)}'>"
                "<button id='pay' name='choice' value='pay'>Pay</button> "
                "<button id='decline' name='choice' value='decline'>Decline</button></form>")
        return _page("So-net mpay (local)", body)

    def pay(self, form: dict[str, str]) -> Response:
        with self.lock:
            order = self.orders.get(form.get("icpOrderId", ""))
            if order is None or form.get("authCode") != order.auth_code or order.state == "declined":
                return _page("Payment refused", "<p id='refused'>This payment request is not valid.</p>", status=400)
            if form.get("choice") == "pay" and order.state == "authorized":
                order.state, order.sonet_order_no = "paid", f"SN{secrets.token_hex(6).upper()}"
            elif form.get("choice") != "pay" and order.state == "authorized":
                order.state = "declined"
            result = self.result(order)
            scenario = order.scenario
        if order.state == "paid":
            if scenario.notice == "first":
                self.notice(order.fields["returnUrl"], result)
            elif scenario.notice in ("twice", "concurrent"):
                delay = 0 if scenario.notice == "concurrent" else scenario.return_delay_ms / 1000 + 1
                for _ in range(2 if scenario.notice == "twice" else 1):
                    threading.Timer(delay, self.notice, (order.fields["returnUrl"], result)).start()
        return _autosubmit(order.fields["returnUrl"], result, scenario.return_delay_ms)

    def result(self, order: Order) -> dict[str, str]:
        paid = order.state == "paid"
        return {"resultCode": sonet.PAID if paid else "99999",
                "resultMesg": "success" if paid else "declined by the payer",
                "icpId": self.icp_id, "icpOrderId": order.fields["icpOrderId"], "icpProdId": order.fields["icpProdId"],
                "mpId": order.fields["mpId"], "price": order.fields["price"], "icpUserId": order.fields["icpUserId"],
                "sonetOrderNo": order.sonet_order_no or ""}

    def notice(self, url: str, result: dict[str, str]) -> None:
        """The paid notice, server to server (its answer, a redirect for browsers, is not followed)."""
        import requests

        status: int | str
        try:
            status = requests.post(url, data=result, timeout=30, allow_redirects=False).status_code
        except requests.RequestException as trouble:
            status = str(trouble)
        with self.lock:
            self.calls.append({"time": time.time(), "call": "notice", "icpOrderId": result["icpOrderId"],
                               "status": status})


def _autosubmit(action: str, fields: dict[str, str], delay_ms: int) -> Response:
    inputs = "".join(f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
                     for k, v in fields.items())
    body = (f"<p id='returning'>Payment {'completed' if fields['resultCode'] == sonet.PAID else 'not completed'}; "
            f"returning to the shop ...</p><form id='result' method='post' action='{html.escape(action)}'>{inputs}"
            f"<noscript><button>Continue</button></noscript></form>"
            f"<script>setTimeout(function () {{ document.getElementById('result').submit(); }}, "
            f"{int(delay_ms)});</script>")
    return _page("So-net mpay (local)", body)


def _page(title: str, body: str, status: int = 200) -> Response:
    document = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
                f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return Response(document, status=status, content_type="text/html; charset=utf-8")


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def main() -> None:
    serve(lambda: SonetGateway(settings().sonet_icp_id), description=__doc__, default_port=8131, what="So-net mpay")


if __name__ == "__main__":
    main()
