"""Client idempotency keys (the `Idempotency-Key` header of money-moving POSTs).

A mobile client retries a POST whose answer it did not get. The key, scoped to the caller, becomes
the step key: the step's marker keeps a hash of the request and the answer. The same key with
the same request replays that answer, status included, without running the rules again; the same
key with another request is refused with 422 and changes nothing. A request that was refused
(4xx) stored nothing: it may be retried under the same key.
"""
from __future__ import annotations

import hashlib
import json
import re

from shared.core.errors import Unprocessable, ValidationFailed
from shared.core.steps import ClientKey

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, as Stripe and the IETF draft use


def client_key(user_id: str, key: str, method: str, path: str, query: dict, body: bytes, status: int) -> ClientKey:
    if not _KEY.fullmatch(key):
        raise ValidationFailed(f"{HEADER} must be 1 to 255 printable ASCII characters",
                               details=[{"loc": ["header", HEADER], "msg": "invalid key", "type": "value_error"}])
    try:  # the same JSON written differently is the same request
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canonical = body
    request = json.dumps([method, path, sorted(query.items())]).encode() + b"\n" + canonical
    scoped = hashlib.sha256(f"{user_id}\n{key}".encode()).hexdigest()
    return ClientKey(step_key=f"idempotency:{user_id}:{scoped[:32]}",
                     request_hash=hashlib.sha256(request).hexdigest(), status=status)


def replay(marker: dict, key: ClientKey) -> tuple[int, dict]:
    """The stored answer for a retry of the same request; 422 for another request under the key."""
    if marker.get("request_hash") != key.request_hash or "response" not in marker:
        raise Unprocessable(f"this {HEADER} was used for another request", code="idempotency_key_reused")
    return marker["response"]["status"], marker["response"]["body"]
