"""HTTP routes of the backpack: a user's items, activating one, and the admin granting a pass or a
post voucher."""
from __future__ import annotations

from shared.backpack import service
from shared.backpack.models import Backpack, BackpackItem, PassGrant, VoucherGrant
from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY

SURFACE = REGISTRY.surface("backpack", FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=20,
                                                       secrets=("JWT_SECRET",)))
BACKPACK_ITEM = REGISTRY.owner("backpack item", "item_id", service.owners)
route = REGISTRY.route


@route("GET", "/me/backpack", surface=SURFACE, response=Backpack, summary="The caller's backpack items, newest first")
def get_backpack(call: Call) -> Backpack:
    return Backpack(items=service.of_user(call.caller.user_id))


@route("POST", "/me/backpack/{item_id}/activate", surface=SURFACE, owner=BACKPACK_ITEM, response=BackpackItem,
       summary="Activate an item: a pass's time starts (or extends the same pass still running), once; "
               "a post voucher is not activated but used by unlocking a post")
def activate_item(call: Call) -> BackpackItem:
    return service.activate(call.caller.user_id, call.params["item_id"])


@route("POST", "/admin/users/{user_id}/passes", surface=SURFACE, scope="role:admin", body=PassGrant,
       response=BackpackItem, status=201, idempotent=True,
       summary="Grant a livestream pass (global, or for one streamer) into a user's backpack")
def grant_pass(call: Call) -> BackpackItem:
    return service.grant_pass(call.params["user_id"], call.body.streamer_id, call.body.seconds,
                              f"admin:{call.caller.user_id}", call.client_key)


@route("POST", "/admin/users/{user_id}/vouchers", surface=SURFACE, scope="role:admin", body=VoucherGrant,
       body_optional=True, response=BackpackItem, status=201, idempotent=True,
       summary="Grant a post voucher (any creator's posts, or one creator's) into a user's backpack")
def grant_voucher(call: Call) -> BackpackItem:
    return service.grant_voucher(call.params["user_id"], call.body.creator_id, f"admin:{call.caller.user_id}",
                                 call.client_key)
