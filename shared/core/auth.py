"""Bearer JWTs (HS256): `sub` user id, `scope` space-separated, `client_id` the calling app,
`iss` and `aud` (JWT_ISSUER, JWT_AUDIENCE), `iat` and `exp` at most MAX_LIFETIME apart.

Mint a local token:  .venv/bin/python -m shared.core.auth --scope role:creator
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from shared.core import clock, ids
from shared.core.config import settings
from shared.core.errors import Forbidden, Unauthorized

ALGORITHM = "HS256"
MAX_LIFETIME = 24 * 3600  # seconds from iat to exp: a leaked token is not good for long
LEEWAY = 5  # seconds of clock skew allowed
_LOADING = threading.Lock()


def jwt_library():
    """PyJWT, imported on first use: it loads cryptography (~40 ms) that most functions never use
    (receivers, tasks, the routes without a bearer token). shared/ takes it from here only, under a
    lock, as shared.core.firestore.library() does for Firestore: a new instance's first requests
    run at once in the server's threads, and threads importing one library at once through
    different modules can get partly initialised modules."""
    with _LOADING:
        import jwt
    return jwt


def issuer() -> str:
    return os.environ.get("JWT_ISSUER") or "livestream-backend"


def audience() -> str:
    return os.environ.get("JWT_AUDIENCE") or "livestream-api"


@dataclass(frozen=True)
class Principal:
    user_id: str
    scopes: frozenset[str]
    client_id: str

    def require(self, scope: str | None) -> None:
        if scope and scope not in self.scopes:
            raise Forbidden(f"this call needs the scope {scope!r}", details={"required": scope})


def mint(user_id: str, scopes: list[str], client_id: str = "local-cli", ttl: int = 3600) -> str:
    jwt = jwt_library()
    if not 0 < ttl <= MAX_LIFETIME:
        raise ValueError(f"ttl must be 1-{MAX_LIFETIME} s")
    now = int(clock.now())
    claims = {"sub": user_id, "scope": " ".join(scopes), "client_id": client_id,
              "iss": issuer(), "aud": audience(), "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings().jwt_secret, algorithm=ALGORITHM)


def authenticate(authorization: str | None) -> Principal:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("missing bearer token")
    jwt = jwt_library()
    token = authorization[len("Bearer "):].strip()
    secret = settings().jwt_secret
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=issuer(),
            audience=audience(),
            options={"require": ["sub", "exp", "iat", "iss", "aud", "client_id"]},
            leeway=LEEWAY,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except Exception:  # whatever the library says stays here: it would help a forger, not a client
        raise Unauthorized("invalid token") from None
    numeric = all(type(claims[k]) in (int, float) for k in ("iat", "exp"))  # the library accepts "123"
    if not numeric or claims["exp"] - claims["iat"] > MAX_LIFETIME or not ids.is_object_id(claims["sub"]):
        raise Unauthorized("invalid token")
    return Principal(
        user_id=claims["sub"],
        scopes=frozenset(str(claims.get("scope", "")).split()),
        client_id=str(claims["client_id"]),
    )


def main() -> None:
    import argparse  # the command line only: every function imports this module

    parser = argparse.ArgumentParser(description="Mint a bearer token for the local API")
    parser.add_argument("--sub", default=None, help="user id (24 hex); a new one when omitted")
    parser.add_argument("--scope", action="append", default=[], help="repeatable, e.g. role:creator")
    parser.add_argument("--client-id", default="local-cli")
    parser.add_argument("--ttl", type=int, default=3600, help=f"seconds, at most {MAX_LIFETIME}")
    args = parser.parse_args()
    print(mint(args.sub or ids.new_id(), args.scope, args.client_id, args.ttl))


if __name__ == "__main__":
    main()
