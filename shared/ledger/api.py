"""HTTP routes of the ledger: a user's wallet per currency, and the admin's provisioning and totals."""
from __future__ import annotations

from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.ledger import service
from shared.ledger.models import ProvisionRequest, Totals, Transfer, Wallet, WalletQuery

SURFACE = REGISTRY.surface("ledger", FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=20,
                                                     secrets=("JWT_SECRET",)))
route = REGISTRY.route


@route("GET", "/wallet", surface=SURFACE, query=WalletQuery, response=Wallet,
       summary="The caller's diamonds (or ?currency=): balance, earnings, where held ones sit, recent transfers")
def get_wallet(call: Call) -> Wallet:
    return service.wallet_of(call.caller.user_id, call.query.currency)


@route("POST", "/admin/users/{user_id}/diamonds", surface=SURFACE, scope="role:admin", body=ProvisionRequest,
       response=Transfer, status=201, idempotent=True,
       summary="Provision diamonds (or another currency) to a user from that currency's issuance")
def provision_diamonds(call: Call) -> Transfer:
    return service.provision(call.params["user_id"], call.body.amount, call.client_key, call.body.currency)


@route("GET", "/admin/ledger", surface=SURFACE, scope="role:admin", response=Totals,
       summary="Balances per currency and account kind, and whether each currency balances")
def ledger_totals(call: Call) -> Totals:
    return service.totals()
