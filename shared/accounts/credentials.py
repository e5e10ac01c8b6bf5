"""Passwords (argon2id) and rotating refresh tokens.

A refresh token is `{token_id}.{secret}`; only a SHA-256 of the secret is stored (it carries 256
random bits: a slow hash would add nothing). Tokens of one login form a family: each refresh uses
its token up and issues the next one. A used token presented again means two parties hold the
family (one of them stole it), so the whole family is revoked and both must log in again.

Documents: `refresh_tokens/{token_id}`, `refresh_families/{family_id}`.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
from datetime import UTC, datetime

from shared.core import clock, ids
from shared.core.errors import Unauthorized
from shared.core.firestore import Txn, db

TOKENS, FAMILIES = "refresh_tokens", "refresh_families"


def refresh_seconds() -> int:
    return int(os.environ.get("REFRESH_TOKEN_SECONDS") or 30 * 24 * 3600)


@functools.cache
def _hasher():
    from argon2 import PasswordHasher  # here: only the auth routes pay for loading it

    return PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile


@functools.cache
def _decoy() -> str:
    return _hasher().hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches; an unknown account costs the same time as a wrong password."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored or _decoy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher().check_needs_rehash(stored)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _expiry(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)  # a Timestamp: Firestore's TTL policy deletes by it


def issue(txn: Txn, user_id: str, client_id: str, family_id: str | None = None) -> str:
    """A new refresh token (a new family when `family_id` is None), written in `txn`."""
    now, token_id, secret = clock.now(), ids.new_id(), secrets.token_urlsafe(32)
    if family_id is None:
        family_id = ids.new_id()
        txn.create(db().collection(FAMILIES).document(family_id),
                   {"user_id": user_id, "client_id": client_id, "created_at": now, "revoked_at": None})
    exp = now + refresh_seconds()
    txn.create(db().collection(TOKENS).document(token_id),
               {"user_id": user_id, "family_id": family_id, "client_id": client_id, "hash": _digest(secret),
                "issued_at": now, "exp": exp, "used_at": None, "expire_at": _expiry(exp + 24 * 3600)})
    return f"{token_id}.{secret}"


def presented(txn: Txn, token: str) -> dict:
    """The stored token (with `id`), or 401 for anything that is not a token of a live login.
    Reads only: a transaction reads everything before it writes."""
    token_id, _, secret = token.partition(".")
    if not ids.is_object_id(token_id) or not secret:
        raise Unauthorized("invalid refresh token", code="invalid_refresh_token")
    snap = db().collection(TOKENS).document(token_id).get(transaction=txn)
    if not snap.exists or not hmac.compare_digest(snap.get("hash"), _digest(secret)):
        raise Unauthorized("invalid refresh token", code="invalid_refresh_token")
    stored = snap.to_dict() | {"id": token_id}
    if _family(stored).get(transaction=txn).get("revoked_at") is not None:
        raise Unauthorized("this login has ended; log in again", code="refresh_token_revoked")
    return stored


def _family(stored: dict):
    return db().collection(FAMILIES).document(stored["family_id"])


def rotate(txn: Txn, stored: dict) -> str | None:
    """Use the presented token up: the next token of its family. None when it was already used:
    the family is revoked in `txn`, which the caller commits and then refuses."""
    now = clock.now()
    if stored["used_at"] is not None:
        txn.update(_family(stored), {"revoked_at": now, "revoked_because": "reuse", "reused_token": stored["id"]})
        return None
    if stored["exp"] <= now:
        raise Unauthorized("refresh token expired; log in again", code="refresh_token_expired")
    txn.update(db().collection(TOKENS).document(stored["id"]), {"used_at": now})
    return issue(txn, stored["user_id"], stored["client_id"], stored["family_id"])


def revoke(txn: Txn, token: str) -> None:
    """Log out: the token's family ends (every device holding one of its tokens is signed out)."""
    try:
        stored = presented(txn, token)
    except Unauthorized as exc:
        if exc.code == "refresh_token_revoked":
            return  # logging out twice is logged out
        raise
    txn.update(_family(stored), {"revoked_at": clock.now(), "revoked_because": "logout"})
