"""HTTP routes of the gifts surface: the catalog, and sending a gift (or a ticket) in a session."""
from __future__ import annotations

from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.gifts import service
from shared.gifts.models import GiftProducts, GiftReceipt, GiftRequest

SURFACE = REGISTRY.surface("gifts", FunctionOptions(memory="512Mi", cpu="1", concurrency=16, max_instances=100,
                                                    secrets=("JWT_SECRET",)))
route = REGISTRY.route


@route("GET", "/gifts/products", surface=SURFACE, response=GiftProducts, summary="The gift catalog")
def list_products(call: Call) -> GiftProducts:
    return GiftProducts(products=sorted(service.products().values(), key=lambda p: p.id))


@route("POST", "/sessions/{session_id}/gifts", surface=SURFACE, body=GiftRequest, response=GiftReceipt, status=201,
       idempotent=True, summary="Send a gift in a session; a ticket (with goal_id) is held in the pre-sale's escrow")
def send_gift(call: Call) -> GiftReceipt:
    return service.send(call.caller.user_id, call.params["session_id"], call.body, call.client_key)
