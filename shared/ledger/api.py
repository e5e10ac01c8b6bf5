"""HTTP routes of the ledger: a user's wallet, and the admin's provisioning and totals."""
from __future__ import annotations

from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.ledger import service
from shared.ledger.models import ProvisionRequest, Totals, Transfer, Wallet

SURFACE = REGISTRY.surface("ledger", FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=20,
                                                     secrets=("JWT_SECRET",)))
route = REGISTRY.route


@route("GET", "/wallet", surface=SURFACE, response=Wallet,
       summary="The caller's diamonds: balance, earnings, where held diamonds sit, recent transfers")
def get_wallet(call: Call) -> Wallet:
    return service.wallet_of(call.principal.user_id)


@route("POST", "/admin/users/{user_id}/diamonds", surface=SURFACE, scope="role:admin", body=ProvisionRequest,
       response=Transfer, status=201, idempotent=True, summary="Provision diamonds to a user from issuance")
def provision_diamonds(call: Call) -> Transfer:
    return service.provision(call.params["user_id"], call.body.amount, call.client_key)


@route("GET", "/admin/ledger", surface=SURFACE, scope="role:admin", response=Totals,
       summary="Balances per account kind and whether the ledger balances")
def ledger_totals(call: Call) -> Totals:
    return service.totals()
