"""Pusher channel authorization (seed 004, "Pusher Authorization Flow"): pusher-js's own request
and the batch plugin's, answered with the pusher library's `authenticate`; Pusher's webhooks, which
keep each room's live head-count; the paid stream's RTC token."""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, Field

from shared.access import tokens
from shared.accounts import service as accounts
from shared.core import pusher
from shared.core.errors import AppError
from shared.core.http import FORM, Call, parse_form, parse_json_object, validate
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.realtime import channels, headcount

SURFACE = REGISTRY.surface("realtime", FunctionOptions(memory="512Mi", cpu="1", concurrency=32, max_instances=50,
                                                       secrets=("JWT_SECRET", "PUSHER_SECRET", "RTC_APP_KEY")))
route = REGISTRY.route
SocketId = Annotated[str, Field(pattern=r"^\d{1,20}\.\d{1,20}$")]
ChannelName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-=@,.;]{1,164}$")]
MAX_BATCH = 100
BATCH_KEY = re.compile(r"channel_name\[(\d{1,3})\]")


class AuthRequest(BaseModel):
    socket_id: SocketId
    channel_name: ChannelName


class BatchAuthRequest(BaseModel):
    socket_id: SocketId
    channel_names: list[ChannelName] = Field(min_length=1, max_length=MAX_BATCH)


class WebhookApplied(BaseModel):
    events: int = Field(description="events in the webhook")
    applied: int = Field(description="changes they made (0 for a duplicate or a late arrival)")


class ChannelAuth(BaseModel):
    auth: str
    channel_data: str | None = None


def _fields(call: Call) -> dict:
    """pusher-js posts a form; a JSON object is accepted too."""
    kind = call.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return parse_form(call.body) if kind == FORM else parse_json_object(call.body)


def _grant(user_id: str, socket_id: str, channel: str, user_info: dict) -> dict:
    grant = channels.decide(channel, user_id, tokens.channel_data, user_info)
    return pusher.authenticate(channel, socket_id, grant.presence)


@route("POST", "/pusher/auth", surface=SURFACE, raw=True, response=ChannelAuth,
       summary="Authorize one Pusher channel subscription (pusher-js: form-encoded socket_id, channel_name)")
def authorize_channel(call: Call) -> dict:
    request = validate(AuthRequest, _fields(call), "body")
    user = call.caller.user_id
    return _grant(user, request.socket_id, request.channel_name, accounts.public_info(user))


@route("POST", "/pusher/batch-authenticate", surface=SURFACE, raw=True,
       summary="Authorize several channels at once (the pusher-js batch plugin: socket_id, channel_name[0..n]); "
               "each channel answered on its own: {channel: {status: 200, data: {auth, channel_data}} "
               "or {status: 403}}")
def authorize_channels(call: Call) -> dict:
    fields = _fields(call)
    batch = [(int(found[1]), k) for k in fields if (found := BATCH_KEY.fullmatch(k))]
    names = [fields[k] for _, k in sorted(batch, key=lambda pair: pair[0])]
    if isinstance(fields.get("channel_name"), list):  # channel_name sent repeated is the same request
        names += fields["channel_name"]
    request = validate(BatchAuthRequest, {"socket_id": fields.get("socket_id"), "channel_names": names}, "body")
    answers, user = {}, call.caller.user_id
    info = accounts.public_info(user)
    for channel in request.channel_names:
        try:
            answers[channel] = {"status": 200, "data": _grant(user, request.socket_id, channel, info)}
        except AppError as refused:
            answers[channel] = {"status": refused.status, "error": refused.code}
    return answers


@route("GET", "/streams/{session_id}/token", surface=SURFACE, response=tokens.StreamToken,
       summary="The RTC token of the session's paid (sd) stream for a viewer who may watch it now (the streamer, a "
               "payer inside their window, a ticket buyer, a pass holder); 403 otherwise. Subscribe only.")
def stream_token(call: Call) -> tokens.StreamToken:
    return tokens.stream_token(call.params["session_id"], call.caller.user_id)


@route("POST", "/pusher/webhooks", surface=SURFACE, public=True, raw=True, response=WebhookApplied, errors=(401,),
       summary="Pusher's webhooks: channel_occupied, channel_vacated, member_added and member_removed of "
               "presence-stream@{streamer} keep the room's live head-count. Public, but only a body signed with "
               "our Pusher app's secret (X-Pusher-Key, X-Pusher-Signature) and sent within 5 minutes is read; "
               "401 otherwise. Safe to deliver twice or out of order.")
def receive_webhook(call: Call) -> WebhookApplied:
    data = pusher.verify_webhook(call.headers.get("X-Pusher-Key"), call.headers.get("X-Pusher-Signature"), call.body)
    webhook = validate(headcount.Webhook, data, "body")
    return WebhookApplied(events=len(webhook.events), applied=headcount.apply(webhook))
