"""Chats end to end: a viewer messages a creator who prices messages and pays in messaging
diamonds, the creator hears it on their private-user channel and replies for free; a message
carries a gift that pays diamonds and counts on the leaderboards; an Idempotency-Key stores one
message and pays once; refusals store nothing; chats and messages page newest first."""
from __future__ import annotations

import pytest

from shared.chats import rules
from shared.chats.service import chat_ref
from shared.core import auth, ids
from shared.core.config import settings
from shared.ledger import book
from shared.ledger import service as ledger
from shared.ledger.models import revenue
from tests.e2e.helpers import member, provision, provision_in, purse
from tests.support import User, marker, wait_until

pytestmark = pytest.mark.stack
ROSE, FIREWORKS, TICKET = "livestream-gift-rose_10", "livestream-gift-fireworks_500", "livestream-show-ticket_134"


def creator(api) -> User:
    """A creator with an account (a recipient must exist)."""
    user = member(api)
    return User(user.id, auth.mint(user.id, ["role:creator"], client_id="app"), "app")


def price(api, user: User, amount: int):
    return api.call("PUT", "/me/chat-price", user, json={"amount": amount})


def send(api, sender: User, to: User | str, key: str | None = None, **body):
    to_id = to if isinstance(to, str) else to.id
    return api.call("POST", f"/chats/{to_id}/messages", sender, json=body,
                    headers={"Idempotency-Key": key} if key else {})


def messages(api, user: User, other: User, **query) -> dict:
    answer = api.call("GET", f"/chats/{other.id}/messages", user, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def stored(a: User, b: User) -> int:
    return len(list(chat_ref(rules.chat_id(a.id, b.id)).collection("messages").stream()))


def test_a_viewer_pays_a_priced_creator_and_the_creator_replies_free(api, pusher_socket):
    star, fan = creator(api), member(api)
    assert price(api, fan, 10).status_code == 403  # only creators set a price
    made = price(api, star, 10)
    assert made.status_code == 200 and made.json()["amount"] == 10, made.text
    assert api.call("GET", f"/users/{star.id}/chat-price", fan).json()["amount"] == 10
    provision_in(api, fan, 25, "messaging_diamond")
    star_sock, fan_sock = pusher_socket(f"private-user@{star.id}"), pusher_socket(f"private-user@{fan.id}")
    revenue_before = ledger.balance(revenue("messaging_diamond"))

    first = send(api, fan, star, key="hello-1", text="hello there")
    assert first.status_code == 201, first.text
    sent = first.json()
    assert (sent["sender_id"], sent["recipient_id"], sent["text"], sent["gift"]) == (
        fan.id, star.id, "hello there", None)
    assert sent["charge"] == {"amount": 10, "currency": "messaging_diamond", "transfer_id": f"chat:{sent['id']}"}
    # the same key and request: the same answer, one message, paid once; another request under it: 422
    again = send(api, fan, star, key="hello-1", text="hello there")
    assert (again.status_code, again.json()) == (201, sent)
    reused = send(api, fan, star, key="hello-1", text="something else")
    assert (reused.status_code, reused.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert stored(fan, star) == 1
    (_, channel, _, notice) = star_sock.wait_for("chat.message", where=lambda d: d["id"] == sent["id"])
    assert channel == f"private-user@{star.id}"
    assert (notice["chat_id"], notice["sender_id"], notice["text"], notice["truncated"]) == (
        rules.chat_id(fan.id, star.id), fan.id, "hello there", False)

    share = settings().platform_share_percent
    fee = 10 * share // 100
    assert purse(api, fan, "messaging_diamond") == (15, 0)
    assert purse(api, star, "messaging_diamond") == (0, 10 - fee)
    assert ledger.balance(revenue("messaging_diamond")) - revenue_before == fee
    paid_fee = book.load(f"chat:{sent['id']}:fee")
    assert (paid_fee.debit, paid_fee.credit, paid_fee.amount) == (
        f"wallet:{fan.id}:messaging_diamond", "revenue:platform:messaging_diamond", fee)

    # the creator answers: free, delivered on the fan's channel
    reply = send(api, star, fan, text="thanks!")
    assert reply.status_code == 201 and reply.json()["charge"] is None, reply.text
    fan_sock.wait_for("chat.message", channel=f"private-user@{fan.id}", where=lambda d: d["id"] == reply.json()["id"])
    assert purse(api, star, "messaging_diamond") == (0, 10 - fee)

    # a second paid message, then one the fan cannot pay for: 409 and nothing stored
    assert send(api, fan, star, text="second").status_code == 201
    broke = send(api, fan, star, key="broke", text="third")
    assert (broke.status_code, broke.json()["error"]["code"]) == (409, "insufficient_funds"), broke.text
    assert stored(fan, star) == 3 and purse(api, fan, "messaging_diamond") == (5, 0)
    assert purse(api, star, "messaging_diamond") == (0, 2 * (10 - fee))

    # both sides see the chat, its last message the reply-free "second"
    for user in (fan, star):
        (chat,) = [c for c in api.call("GET", "/chats", user).json()["chats"]
                   if c["id"] == rules.chat_id(fan.id, star.id)]
        assert chat["participants"] == sorted([fan.id, star.id]) and chat["last_message"]["text"] == "second"
    assert [m["text"] for m in messages(api, star, fan)["messages"]] == ["second", "thanks!", "hello there"]
    wait_until(lambda: marker(f"track_chat_message_sent@chat.message.sent:{sent['id']}").get("flushed_at"),
               what="the message's analytics event")


def test_a_chat_message_with_a_gift(api, pusher_socket):
    star, fan = creator(api), member(api)
    provision(api, fan, 100)
    star_sock = pusher_socket(f"private-user@{star.id}")

    gift = send(api, fan, star, text="for you", gift={"product_id": ROSE, "quantity": 2})
    assert gift.status_code == 201, gift.text
    message = gift.json()
    assert message["charge"] is None  # no price set: the text is free
    assert message["gift"] == {"product_id": ROSE, "name": "Rose", "quantity": 2, "price_each": 10, "amount": 20,
                               "transfer_id": f"chat_gift:{message['id']}"}
    fee = 20 * settings().platform_share_percent // 100
    assert purse(api, fan, "diamond") == (80, 0) and purse(api, star, "diamond") == (0, 20 - fee)
    assert book.load(f"chat_gift:{message['id']}:fee").amount == fee
    (*_, notice) = star_sock.wait_for("chat.message", where=lambda d: d["id"] == message["id"])
    assert notice["gift"] == message["gift"]
    (listed,) = messages(api, star, fan)["messages"]
    assert listed["gift"] == message["gift"] and listed["text"] == "for you"
    # diamonds spent on the creator outside any session: counted on their boards
    wait_until(lambda: api.call("GET", f"/streamers/{star.id}/leaderboard", fan, params={"period": "all"}).json()
               ["supporters"] == [{"rank": 1, "user_id": fan.id, "amount": 20}], what="the gift on the leaderboard")

    # a gift alone; one the fan cannot afford; a ticket; an unknown product: refused, nothing stored
    alone = send(api, fan, star, gift={"product_id": ROSE})
    assert alone.status_code == 201 and alone.json()["text"] is None and alone.json()["gift"]["amount"] == 10
    short = send(api, fan, star, gift={"product_id": FIREWORKS})
    assert (short.status_code, short.json()["error"]["code"]) == (409, "insufficient_funds")
    ticket = send(api, fan, star, text="a ticket?", gift={"product_id": TICKET})
    assert ticket.status_code == 400 and ticket.json()["error"]["details"][0]["loc"] == ["body", "gift", "product_id"]
    unknown = send(api, fan, star, gift={"product_id": "no-such-gift_1"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "product_not_found")
    assert stored(fan, star) == 2 and purse(api, fan, "diamond") == (70, 0)


def test_a_priced_message_with_a_gift_pays_both_in_one_step_or_nothing(api):
    star, fan = creator(api), member(api)
    assert price(api, star, 5).status_code == 200
    provision(api, fan, 100)  # diamonds for the gift, but no messaging diamonds for the price
    refused = send(api, fan, star, text="hi", gift={"product_id": ROSE})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "insufficient_funds")
    assert stored(fan, star) == 0 and purse(api, fan, "diamond") == (100, 0)
    provision_in(api, fan, 5, "messaging_diamond")
    paid = send(api, fan, star, text="hi", gift={"product_id": ROSE})
    assert paid.status_code == 201 and paid.json()["charge"]["amount"] == 5 and paid.json()["gift"]["amount"] == 10
    assert purse(api, fan, "diamond") == (90, 0) and purse(api, fan, "messaging_diamond") == (0, 0)


def test_bad_requests_are_refused_and_store_nothing(api):
    star, fan = creator(api), member(api)
    for body in ({}, {"text": ""}, {"text": "   "}, {"text": "x" * 2001}, {"text": "hi", "extra": 1},
                 {"gift": {"product_id": ROSE, "quantity": 0}}, {"gift": {"quantity": 1}}, {"gift": "rose"}):
        answer = send(api, fan, star, **body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "validation_error"), (body, answer.text)
    yourself = send(api, fan, fan, text="me")
    assert yourself.status_code == 400 and yourself.json()["error"]["details"][0]["loc"] == ["path", "user_id"]
    nobody = send(api, fan, ids.new_id(), text="hello?")
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (404, "user_not_found")
    assert price(api, star, -1).status_code == 400 and price(api, star, "5").status_code == 400
    assert api.call("GET", f"/chats/{fan.id}/messages", fan).status_code == 400
    bad_cursor = api.call("GET", f"/chats/{star.id}/messages", fan, params={"cursor": ids.new_id()})
    assert bad_cursor.status_code == 400
    assert stored(fan, star) == 0 and not chat_ref(rules.chat_id(fan.id, star.id)).get().exists


def test_messages_and_chats_page_newest_first_with_stable_cursors(api):
    star, fan = creator(api), member(api)
    sent = [send(api, *(fan, star) if n % 2 else (star, fan), text=f"m{n}").json()["id"] for n in range(5)]
    first = messages(api, fan, star, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["next_cursor"] == sent[3]
    assert send(api, star, fan, text="m5").status_code == 201  # arrives meanwhile: the cursor keeps its place
    second = messages(api, star, fan, limit=2, cursor=first["next_cursor"])
    assert [m["text"] for m in second["messages"]] == ["m2", "m1"]
    third = messages(api, fan, star, limit=2, cursor=second["next_cursor"])
    assert [m["text"] for m in third["messages"]] == ["m0"] and third["next_cursor"] is None
    assert [m["text"] for m in messages(api, fan, star)["messages"]][0] == "m5"

    # the fan's chats: the one with the newest message first
    others = [creator(api) for _ in range(2)]
    for other in others:
        assert send(api, fan, other, text="hi").status_code == 201
    page = api.call("GET", "/chats", fan, params={"limit": 2}).json()
    assert [c["id"] for c in page["chats"]] == [
        rules.chat_id(fan.id, others[1].id), rules.chat_id(fan.id, others[0].id)]
    rest = api.call("GET", "/chats", fan, params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [c["id"] for c in rest["chats"]] == [rules.chat_id(fan.id, star.id)] and rest["next_cursor"] is None
    assert [c["id"] for c in api.call("GET", "/chats", others[0]).json()["chats"]] == [
        rules.chat_id(fan.id, others[0].id)]
    foreign = api.call("GET", "/chats", star, params={"cursor": page["chats"][0]["id"]})
    assert foreign.status_code == 400  # another pair's chat is no cursor of the creator's list
    assert api.call("GET", "/chats", fan, params={"cursor": "nope"}).status_code == 400
