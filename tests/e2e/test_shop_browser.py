"""The checkout in a real headless browser (Debian's Chromium, driven by Playwright): the payment
link, the redirect chain with its cookie and auto-submitted forms, the local gateway's page
clicked, and the landing on the order's page."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.shop_support import Payer, gateway_calls
from tests.support import User

pytestmark = pytest.mark.stack
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The machine's network is closed: without these Chromium keeps trying to reach Google's hosts
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("Chromium is not installed (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI sets REQUIRE_BROWSER")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


def pay_in_browser(browser, pay_url: str, button: str) -> tuple[str, list[dict]]:
    """Open the link, click on the gateway's page, and wait on the order's page until it settles."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(pay_url)
    page.wait_for_selector(f"#{button}", timeout=15_000)  # the auto-submitted form reached the gateway
    assert page.url.endswith("/paymentRule.php")
    page.click(f"#{button}")
    page.wait_for_url("**/redirect-in/shop-checkout-*", timeout=15_000)
    page.wait_for_function("['fulfilled', 'failed'].includes(document.getElementById('status')?.textContent)",
                           timeout=20_000)  # the page refreshes itself until then
    status, cookies = page.text_content("#status"), context.cookies()
    context.close()
    return status, cookies


def test_a_buyer_pays_for_diamonds_in_a_browser(api, browser):
    payer = Payer(api, User.new())
    checkout = payer.checkout()
    status, cookies = pay_in_browser(browser, checkout["pay_url"], "pay")
    assert status == "fulfilled"
    assert "redirect_session" not in {c["name"] for c in cookies}  # the landing cleared it
    assert payer.balance() == 500
    assert [c["call"] for c in gateway_calls(checkout["order"]["id"])] == ["authOrder", "confirmOrder"]


def test_a_buyer_declines_in_a_browser(api, browser):
    payer = Payer(api, User.new())
    checkout = payer.checkout()
    status, _ = pay_in_browser(browser, checkout["pay_url"], "decline")
    assert status == "failed" and payer.balance() == 0
