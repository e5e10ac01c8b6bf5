"""HTTP routes of accounts: sign-up, login, token refresh and logout, the caller's account, KYC,
and the admin's role and KYC decisions."""
from __future__ import annotations

from pydantic import BaseModel

from shared.accounts import service
from shared.accounts.models import (
    KycDecision,
    KycSubmission,
    LoggedOut,
    Login,
    Me,
    RefreshRequest,
    RoleChange,
    Signup,
    Tokens,
)
from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY

# argon2id takes 64 MiB per hash in flight: memory sized for the concurrency
SURFACE = REGISTRY.surface("accounts", FunctionOptions(memory="1Gi", cpu="1", concurrency=8, max_instances=50,
                                                       secrets=("JWT_SECRET",)))
route = REGISTRY.route
ROLE = {"role": "creator|admin"}


class KycQueue(BaseModel):
    users: list[Me]


@route("POST", "/auth/signup", surface=SURFACE, public=True, body=Signup, response=Tokens, status=201,
       summary="Create an account (email unique whatever its case) and log in; utm_* fields set user.utm.initial")
def signup(call: Call) -> Tokens:
    return service.signup(call.body)


@route("POST", "/auth/login", surface=SURFACE, public=True, body=Login, response=Tokens, errors=(429,),
       summary="Log in: a short-lived access token and a refresh token. Failed attempts are limited per account "
               "and per client address (429 with Retry-After); utm_* fields update user.utm.current")
def login(call: Call) -> Tokens:
    return service.login(call.body, call.client_address)


@route("POST", "/auth/refresh", surface=SURFACE, public=True, body=RefreshRequest, response=Tokens,
       summary="Trade a refresh token for new tokens; it is used up. A used token presented again revokes its login")
def refresh(call: Call) -> Tokens:
    return service.refresh(call.body.refresh_token)


@route("POST", "/auth/logout", surface=SURFACE, public=True, body=RefreshRequest, response=LoggedOut,
       summary="End the login the refresh token belongs to: none of its refresh tokens works again")
def logout(call: Call) -> LoggedOut:
    service.logout(call.body.refresh_token)
    return LoggedOut(revoked=True)


@route("GET", "/me", surface=SURFACE, response=Me, summary="The caller's account: roles, UTM, KYC, active tags")
def get_me(call: Call) -> Me:
    return service.me(call.caller.user_id)


@route("POST", "/me/kyc", surface=SURFACE, body=KycSubmission, response=Me, status=201,
       summary="Submit identity verification (required of users from tw before they stream or earn)")
def submit_kyc(call: Call) -> Me:
    return service.submit_kyc(call.caller.user_id, call.body)


@route("GET", "/admin/kyc", surface=SURFACE, scope="role:admin", response=KycQueue,
       summary="Verifications awaiting a decision, oldest first")
def kyc_queue(call: Call) -> KycQueue:
    return KycQueue(users=service.pending_kyc())


@route("POST", "/admin/users/{user_id}/kyc", surface=SURFACE, scope="role:admin", body=KycDecision, response=Me,
       summary="Approve or reject a user's pending verification")
def decide_kyc(call: Call) -> Me:
    return service.decide_kyc(call.params["user_id"], call.body, call.caller.user_id)


@route("PUT", "/admin/users/{user_id}/roles/{role}", surface=SURFACE, scope="role:admin", params=ROLE,
       response=RoleChange, summary="Grant a role (creator, admin); it shows in the user's next access token")
def grant_role(call: Call) -> RoleChange:
    return service.set_role(call.params["user_id"], call.params["role"], granted=True)


@route("DELETE", "/admin/users/{user_id}/roles/{role}", surface=SURFACE, scope="role:admin", params=ROLE,
       response=RoleChange, summary="Take a role back; access tokens already issued keep it until they expire")
def revoke_role(call: Call) -> RoleChange:
    return service.set_role(call.params["user_id"], call.params["role"], granted=False)
