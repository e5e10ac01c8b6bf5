"""HTTP routes of the chats: sending a message (priced, with a gift), listing chats and messages,
and a creator's price per message."""
from __future__ import annotations

from shared.chats import service
from shared.chats.models import (
    ChatPage,
    ChatPageQuery,
    ChatPrice,
    ChatPriceRequest,
    Message,
    MessagePage,
    MessageRequest,
    PageQuery,
)
from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY

CREATOR = "role:creator"
SURFACE = REGISTRY.surface("chats", FunctionOptions(memory="512Mi", cpu="1", concurrency=16, max_instances=50,
                                                    secrets=("JWT_SECRET", "PUSHER_SECRET")))  # chat.message
route = REGISTRY.route


@route("POST", "/chats/{user_id}/messages", surface=SURFACE, body=MessageRequest, response=Message, status=201,
       idempotent=True, summary="Message a user (a text, a gift or both): a non-creator pays a creator's price in "
                                "messaging diamonds, a gift pays diamonds, both to the recipient less the platform's "
                                "share; delivered as chat.message on private-user@{user_id}")
def send_message(call: Call) -> Message:
    return service.send(call.caller.user_id, call.params["user_id"], call.body,
                        CREATOR in call.caller.scopes, call.client_key)


@route("GET", "/chats", surface=SURFACE, query=ChatPageQuery, response=ChatPage,
       summary="Your chats, the newest message first; pass next_cursor as cursor for more")
def list_chats(call: Call) -> ChatPage:
    return service.chats_of(call.caller.user_id, call.query.cursor, call.query.limit)


@route("GET", "/chats/{user_id}/messages", surface=SURFACE, query=PageQuery, response=MessagePage,
       summary="Your messages with a user, newest first; pass next_cursor as cursor for more")
def list_messages(call: Call) -> MessagePage:
    return service.messages_with(call.caller.user_id, call.params["user_id"], call.query.cursor, call.query.limit)


@route("PUT", "/me/chat-price", surface=SURFACE, scope=CREATOR, body=ChatPriceRequest, response=ChatPrice,
       summary="Your price per message in messaging diamonds, paid by non-creators (0: free)")
def set_chat_price(call: Call) -> ChatPrice:
    return service.set_price(call.caller.user_id, call.body.amount)


@route("GET", "/users/{user_id}/chat-price", surface=SURFACE, response=ChatPrice,
       summary="What a message to this user costs you if you are not a creator (0: free)")
def chat_price(call: Call) -> ChatPrice:
    return service.price_of(call.params["user_id"])
