"""What the payment chain signs with SHOP_SECRET: the `metadata` JWT the gateway hands back (HS256
with a `kid`, seed 004), the link that starts a payment, and the redirect session cookie."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

from shared.core.auth import jwt_library
from shared.core.config import settings
from shared.core.errors import Unauthorized

METADATA_FIELDS = ("icpId", "icpOrderId", "price", "mpId")
METADATA_SECONDS = 30 * 86400  # a paid notice may come days after the payment


def _key_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:8]  # names the key, reveals nothing of it


def metadata_token(fields: dict, issued_at: float) -> str:
    """The same order gives the same token (its returnUrl stays the same across authOrder retries)."""
    claims = {name: fields[name] for name in METADATA_FIELDS} | {"exp": int(issued_at) + METADATA_SECONDS}
    secret = settings().shop_secret
    return jwt_library().encode(claims, secret, algorithm="HS256", headers={"kid": _key_id(secret)})


def read_metadata(token: str) -> dict:
    """The metadata's claims, verified before anything else is read; 401 otherwise."""
    secret = settings().shop_secret
    jwt = jwt_library()  # on first use (it loads cryptography), under shared.core.auth's lock
    try:
        if jwt.get_unverified_header(token).get("kid") != _key_id(secret):
            raise jwt.InvalidTokenError("unknown kid")
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", *METADATA_FIELDS]})
    except jwt.InvalidTokenError as refused:
        raise Unauthorized(f"the payment's metadata is not ours: {refused}", code="bad_metadata") from None
    return claims


def sign(purpose: str, value: str) -> str:
    message = f"{purpose}\n{value}".encode()
    return hmac.new(settings().shop_secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def verify(purpose: str, value: str, signature: str) -> bool:
    return hmac.compare_digest(sign(purpose, value), signature or "")


def seal(purpose: str, data: dict) -> str:
    """`data` as a cookie value only we can have written: base64url(JSON).signature."""
    body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{body}.{sign(purpose, body)}"


def unseal(purpose: str, value: str) -> dict | None:
    body, _, signature = (value or "").partition(".")
    if not body or not verify(purpose, body, signature):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
