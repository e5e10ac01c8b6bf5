"""Sign-up, login, refresh, logout; roles, KYC and tags. Only this feature writes `users`.

Access tokens are the API's existing bearer JWTs (shared/core/auth.py), short-lived, carrying the
user's roles as scopes as they are when the token is minted: a role granted or taken back shows
in the next token, at the latest one access-token lifetime later.
"""
from __future__ import annotations

import os

from pydantic import BaseModel

from shared.accounts import credentials, throttle
from shared.accounts.models import (
    KycDecision,
    KycSubmission,
    Login,
    Me,
    RoleChange,
    Signup,
    TagWindow,
    Tokens,
    User,
    Utm,
    email_key,
)
from shared.core import auth, clock, ids, steps
from shared.core.errors import Conflict, Forbidden, Unauthorized
from shared.core.firestore import Txn, as_model, changes, db, document, load, run_transaction, where
from shared.core.registry import REGISTRY

USERS, EMAILS = "users", "user_emails"
CLIENT_ID = "app"  # the `client_id` of tokens minted at login: the platform's own apps


class LoggedIn(BaseModel):
    """`user.logged_in`: one per successful login (its own id), for analytics."""

    login_id: str
    user_id: str
    at: float


LOGGED_IN = REGISTRY.signal("user.logged_in", LoggedIn, key=lambda e: e.login_id)


def access_seconds() -> int:
    return int(os.environ.get("ACCESS_TOKEN_SECONDS") or 900)


def user_ref(user_id: str):
    return db().collection(USERS).document(user_id)


def get(user_id: str, txn: Txn | None = None) -> User:
    return load(user_ref(user_id), User, "user", txn)


def find(user_id: str, txn: Txn | None = None) -> User | None:
    snap = user_ref(user_id).get(transaction=txn)
    return as_model(User, snap) if snap.exists else None


def _tokens(txn: Txn, user: User, family: str | None = None, refresh: str | None = None) -> Tokens:
    refresh = refresh or credentials.issue(txn, user.id, CLIENT_ID, family)
    return Tokens(access_token=auth.mint(user.id, user.scopes, CLIENT_ID, access_seconds()),
                  expires_in=access_seconds(), refresh_token=refresh,
                  refresh_expires_in=credentials.refresh_seconds(), scope=" ".join(user.scopes), user=Me.of(user))


def signup(request: Signup) -> Tokens:
    from google.api_core.exceptions import AlreadyExists

    utm = request.utm()
    user = User(id=ids.new_id(), email=request.email, email_key=email_key(request.email),
                password_hash=credentials.hash_password(request.password),  # slow: not inside the transaction
                display_name=request.display_name, country=request.country, created_at=clock.now(),
                utm=Utm(initial=utm, current=utm) if utm.any() else Utm())

    # One atomic batch of creates, no reads: concurrent sign-ups of an address take no locks; the
    # commit of every one but the first fails on the existing `user_emails` document.
    batch = db().batch()
    batch.create(db().collection(EMAILS).document(user.email_key), {"user_id": user.id, "created_at": user.created_at})
    batch.create(user_ref(user.id), document(user))
    tokens = _tokens(batch, user)
    try:
        batch.commit()
    except AlreadyExists:
        raise EmailTaken() from None
    return tokens


class EmailTaken(Conflict):
    code = "email_taken"

    def __init__(self):
        super().__init__("an account with this email already exists")


def login(request: Login, client_address: str | None) -> Tokens:
    key = email_key(request.email)
    limits = throttle.limits(key, client_address)
    throttle.check(limits)
    claim = db().collection(EMAILS).document(key).get()
    user = find(claim.get("user_id")) if claim.exists else None
    if not credentials.check_password(user.password_hash if user else None, request.password):
        throttle.failed(limits)
        raise Unauthorized("wrong email or password", code="invalid_credentials")
    assert user is not None  # check_password refuses the missing hash of no user
    utm = request.utm()
    login_id = ids.new_id()

    def body(txn: Txn, fx: steps.Effects) -> Tokens:
        current = get(user.id, txn)
        updated = current
        if utm.any():  # seed 004: `utm.current` follows each login that carries any
            updated = updated.model_copy(update={"utm": Utm(initial=current.utm.initial, current=utm)})
        if credentials.needs_rehash(current.password_hash):  # the hashing parameters were raised since
            updated = updated.model_copy(update={"password_hash": credentials.hash_password(request.password)})
        if fields := changes(current, updated):
            txn.update(user_ref(user.id), fields)
        fx.publish(LOGGED_IN, LoggedIn(login_id=login_id, user_id=user.id, at=clock.now()))
        return _tokens(txn, updated)

    return steps.run(f"login:{login_id}", body, redelivered=False)


def refresh(token: str) -> Tokens:
    def body(txn: Txn):
        stored = credentials.presented(txn, token)
        user = get(stored["user_id"], txn)  # roles as they are now
        next_token = credentials.rotate(txn, stored)
        if next_token is None:
            return None  # reuse: the family's revocation commits, then the caller is refused
        return _tokens(txn, user, refresh=next_token)

    tokens = run_transaction(body)
    if tokens is None:
        raise Unauthorized("this refresh token was already used: every token of its login is revoked",
                           code="refresh_token_reused")
    return tokens


def logout(token: str) -> None:
    run_transaction(lambda txn: credentials.revoke(txn, token))


def me(user_id: str) -> Me:
    return Me.of(get(user_id))


def _change(user_id: str, rule) -> User:
    """Apply `rule(user) -> User` to the stored user in a transaction and save what it changed."""
    def body(txn: Txn) -> User:
        current = get(user_id, txn)
        updated = rule(current)
        if fields := changes(current, updated):
            txn.update(user_ref(user_id), fields)
        return updated

    return run_transaction(body)


def set_role(user_id: str, role: str, granted: bool) -> RoleChange:
    def rule(user: User) -> User:
        roles = sorted(set(user.roles) | {role}) if granted else [r for r in user.roles if r != role]
        return user.model_copy(update={"roles": roles})

    user = _change(user_id, rule)
    return RoleChange(user_id=user.id, roles=user.scopes)


# --- KYC (seed 004: only users whose country is `tw` are verified; everyone else passes) -------


def submit_kyc(user_id: str, submission: KycSubmission) -> Me:
    def rule(user: User) -> User:
        if not user.kyc_required:
            raise Conflict("your country needs no verification", code="kyc_not_required")
        if user.kyc.status in ("pending", "verified"):
            raise Conflict(f"your verification is already {user.kyc.status}", code=f"kyc_{user.kyc.status}")
        kyc = user.kyc.model_copy(update={
            "status": "pending", "legal_name": submission.legal_name, "document_type": submission.document_type,
            "document_last4": submission.document_number[-4:], "birth_date": submission.birth_date,
            "submitted_at": clock.now(), "decided_at": None, "decided_by": None, "reason": None})
        return user.model_copy(update={"kyc": kyc})

    return Me.of(_change(user_id, rule))


def decide_kyc(user_id: str, decision: KycDecision, admin_id: str) -> Me:
    def rule(user: User) -> User:
        if user.kyc.status != "pending":
            raise Conflict(f"no verification awaits a decision (it is {user.kyc.status})", code="kyc_not_pending")
        status = "verified" if decision.decision == "approve" else "rejected"
        kyc = user.kyc.model_copy(update={"status": status, "decided_at": clock.now(), "decided_by": admin_id,
                                          "reason": decision.reason})
        return user.model_copy(update={"kyc": kyc})

    return Me.of(_change(user_id, rule))


def pending_kyc(limit: int = 100) -> list[Me]:
    query = where(USERS, kyc__status="pending").order_by("kyc.submitted_at").limit(limit)
    return [Me.of(as_model(User, snap)) for snap in query.stream()]


def require_may_earn(user_id: str, txn: Txn | None = None) -> None:
    """403 unless the user may start a session and receive earnings. A principal without an
    account (a token minted by the local command for tests and tools) has no country: it passes."""
    user = find(user_id, txn)
    if user is not None and not user.may_earn:
        raise Forbidden("verify your identity (POST /me/kyc) before you can stream or earn", code="kyc_required",
                        details={"kyc": user.kyc.status})


# --- tags (seed 004: `user.tagsv2.livestream_pass` and `livestream_pass_{streamer_id}`) ------------


def activate_tag(txn: Txn, user_id: str, tag: str, seconds: int) -> TagWindow:
    """Add `seconds` to the user's tag in `txn`: from now, or from the end of a window still running."""
    user, now = get(user_id, txn), clock.now()
    window = user.tagsv2.get(tag)
    if window is not None and window.exp > now:
        window = TagWindow(nbf=window.nbf, exp=window.exp + seconds)
    else:
        window = TagWindow(nbf=now, exp=now + seconds)
    txn.update(user_ref(user_id), {f"tagsv2.{tag}": window.model_dump()})
    return window


def shorten_tag(txn: Txn, user_id: str, tag: str, seconds: int, nbf: float):
    """Reads the user's tag now; returns the write that takes back `seconds` a revoked item added to
    the window that began at `nbf` (a later window, opened after that one lapsed, is left alone; the
    window ends no later than without them, and not before now), to call after all reads."""
    user, now = get(user_id, txn), clock.now()
    window = user.tagsv2.get(tag)

    def write() -> None:
        if window is not None and window.nbf == nbf and window.exp > now:
            shorter = TagWindow(nbf=window.nbf, exp=max(now, window.exp - seconds))
            txn.update(user_ref(user_id), {f"tagsv2.{tag}": shorter.model_dump()})

    return write


def active_tag(user_id: str, tags: list[str]) -> tuple[str, TagWindow] | None:
    """The first of `tags` the user holds now, with its window."""
    user, now = find(user_id), clock.now()
    if user is None:
        return None
    for tag in tags:
        window = user.tagsv2.get(tag)
        if window is not None and window.nbf <= now < window.exp:
            return tag, window
    return None


def public_info(user_id: str) -> dict:
    """What other users may see of a user (presence channel data)."""
    user = find(user_id)
    return {"id": user_id, "display_name": user.display_name if user else None}
