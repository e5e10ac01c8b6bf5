"""Who may watch the paid (sd) stream, end to end: the RTC token from GET /streams/{id}/token
and in the sd channel's presence data, for a ticket buyer, a payer and a pass holder; cached,
and gone as soon as the access that earned it is."""
from __future__ import annotations

import json
import time

import pytest

from shared.core.config import settings
from shared.rtc import access_token
from tests.e2e.helpers import admin_command, as_user, auth, buy, email, provision, signup, socket
from tests.support import User, create_funding_goal, start_session, wait_until

pytestmark = pytest.mark.stack


def token(api, session_id: str, user: User):
    return api.call("GET", f"/streams/{session_id}/token", user)


def sd_channel_data(api, streamer: User, viewer: User) -> dict | None:
    """The sd channel's presence data the API grants (None: refused), accepted by the Pusher server."""
    sock = socket()
    try:
        channel = f"presence-enc-stream-viewer@{streamer.id}.sd.{viewer.id}"
        answer = auth(api, viewer, sock, channel)
        if answer.status_code == 403:
            return None
        assert answer.status_code == 200, answer.text
        sock.subscribe(channel, answer.json())
        return json.loads(answer.json()["channel_data"])
    finally:
        sock.close()


def check_token(view: dict, session_id: str, viewer: User) -> None:
    assert access_token.verify(view["token"], settings().rtc_app_key)
    fields = access_token.parse(view["token"])
    assert (fields["app_id"], fields["room_id"], fields["user_id"]) == (settings().rtc_app_id, session_id, viewer.id)
    assert fields["privileges"] == {access_token.SUBSCRIBE_STREAM: view["expires_at"]}  # watch, never publish


def test_a_ticket_buyer_holds_a_cached_token_until_the_pre_sale_is_refunded(api, streamer):
    buyer = User.new()
    session = start_session(api, streamer)
    provision(api, buyer, 500)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 4, target=100, hesitation=1)
    assert token(api, session["id"], buyer).status_code == 403
    assert buy(api, buyer, session["id"], goal["id"]).status_code == 201
    first = wait_until(lambda: token(api, session["id"], buyer).json() if token(api, session["id"], buyer).ok else None,
                       timeout=10, what="the ticket to count")
    assert first["because"] == "ticket" and first["expires_at"] <= time.time() + 3600
    check_token(first, session["id"], buyer)
    assert token(api, session["id"], buyer).json() == first  # the cached answer: the same token
    data = sd_channel_data(api, streamer, buyer)
    assert data["user_id"] == buyer.id and data["user_info"]["room_id"] == session["id"]
    assert access_token.verify(data["user_info"]["byteplus_token"], settings().rtc_app_key)

    # the pre-sale ends unmet and is refunded: the cached token goes with the ticket
    wait_until(lambda: token(api, session["id"], buyer).status_code == 403, timeout=40, what="the refund")
    assert sd_channel_data(api, streamer, buyer) is None


def test_a_payer_token_lasts_as_long_as_their_window(api, streamer):
    payer = User.new()
    session = start_session(api, streamer)
    provision(api, payer, 100)
    assert sd_channel_data(api, streamer, payer) is None
    paid = api.call("POST", f"/streams/{streamer.id}/pay", payer, json={"duration": 4})
    assert paid.status_code == 201, paid.text
    view = token(api, session["id"], payer).json()
    assert view["because"] == "paid" and view["expires_at"] <= time.time() + 4
    check_token(view, session["id"], payer)
    assert sd_channel_data(api, streamer, payer)["user_info"]["byteplus_token"]
    wait_until(lambda: token(api, session["id"], payer).status_code == 403, timeout=10, what="the window's end")
    assert sd_channel_data(api, streamer, payer) is None


def test_a_pass_admits_its_holder_once_activated(api, streamer):
    admin = User.new("role:admin")
    tokens = signup(api, email()).json()
    holder, stranger = as_user(tokens), User.new()
    session = start_session(api, streamer)
    granted = api.call("POST", f"/admin/users/{holder.id}/passes", admin, json={"seconds": 600})
    assert granted.status_code == 201 and granted.json()["status"] == "available"
    item = granted.json()["id"]
    assert [i["id"] for i in api.call("GET", "/me/backpack", holder).json()["items"]] == [item]
    assert token(api, session["id"], holder).status_code == 403  # held, not yet activated

    assert api.call("POST", f"/me/backpack/{item}/activate", stranger).json()["error"]["code"] == "not_owner"
    activated = api.call("POST", f"/me/backpack/{item}/activate", holder)
    assert activated.status_code == 200 and activated.json()["status"] == "activated"
    window = api.call("GET", "/me", holder).json()["tagsv2"]["livestream_pass"]
    assert window["exp"] - window["nbf"] == 600
    again = api.call("POST", f"/me/backpack/{item}/activate", holder)
    assert again.status_code == 409 and again.json()["error"]["code"] == "item_activated"
    view = token(api, session["id"], holder).json()
    assert view["because"] == "pass"
    check_token(view, session["id"], holder)
    assert sd_channel_data(api, streamer, holder)["user_info"]["byteplus_token"]


def test_a_pass_for_another_streamer_does_not_admit(api, streamer):
    mail = email()
    holder = as_user(signup(api, mail).json())
    session = start_session(api, streamer)
    out = json.loads(admin_command("grant-pass", "--email", mail, "--seconds", "600", "--streamer-id", "f" * 24))
    assert out["tag"] == "livestream_pass_" + "f" * 24
    assert api.call("POST", f"/me/backpack/{out['id']}/activate", holder).status_code == 200
    assert token(api, session["id"], holder).status_code == 403


def test_ending_the_session_drops_its_cached_tokens(api, streamer):
    session = start_session(api, streamer)
    mine = token(api, session["id"], streamer)
    assert mine.status_code == 200 and mine.json()["because"] == "streamer"
    assert token(api, session["id"], streamer).json() == mine.json()
    assert api.call("DELETE", f"/sessions/{session['id']}", streamer).status_code == 200
    refused = token(api, session["id"], streamer)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_authorized"
    assert sd_channel_data(api, streamer, streamer) is None
