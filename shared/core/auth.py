"""Bearer JWTs (HS256): `sub` user id, `scope` space-separated, `client_id` the calling app, `exp`.

Mint a local token:  .venv/bin/python -m shared.core.auth --scope role:creator
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from shared.core import clock, ids
from shared.core.config import settings
from shared.core.errors import Forbidden, Unauthorized

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    user_id: str
    scopes: frozenset[str]
    client_id: str

    def require(self, scope: str | None) -> None:
        if scope and scope not in self.scopes:
            raise Forbidden(f"this call needs the scope {scope!r}", details={"required": scope})


def mint(user_id: str, scopes: list[str], client_id: str = "local-cli", ttl: int = 3600) -> str:
    import jwt  # here, not at import: it loads cryptography (~50 ms) that receivers and tasks never use

    now = int(clock.now())
    claims = {"sub": user_id, "scope": " ".join(scopes), "client_id": client_id, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings().jwt_secret, algorithm=ALGORITHM)


def authenticate(authorization: str | None) -> Principal:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("missing bearer token")
    import jwt

    token = authorization[len("Bearer "):].strip()
    try:
        claims = jwt.decode(
            token,
            settings().jwt_secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "client_id"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    if not ids.is_object_id(claims["sub"]):
        raise Unauthorized("invalid token: sub must be a 24-hex user id")
    return Principal(
        user_id=claims["sub"],
        scopes=frozenset(str(claims.get("scope", "")).split()),
        client_id=str(claims["client_id"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Mint a bearer token for the local API")
    parser.add_argument("--sub", default=None, help="user id (24 hex); a new one when omitted")
    parser.add_argument("--scope", action="append", default=[], help="repeatable, e.g. role:creator")
    parser.add_argument("--client-id", default="local-cli")
    parser.add_argument("--ttl", type=int, default=3600)
    args = parser.parse_args()
    print(mint(args.sub or ids.new_id(), args.scope, args.client_id, args.ttl))


if __name__ == "__main__":
    main()
