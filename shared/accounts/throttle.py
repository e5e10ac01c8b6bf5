"""Brute-force protection for login: failed attempts counted per account and per client address
in fixed windows; past the limit a login is refused with 429 and `Retry-After` until the window
ends, before the password is even checked.

Documents `login_failures/{kind}_{hash}_{window}`: one counter per key and window, incremented
atomically (no transaction: an attacker's parallel attempts must not queue on each other).
"""
from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.core import clock
from shared.core.errors import AppError
from shared.core.firestore import db, increment

COLLECTION = "login_failures"


class TooManyAttempts(AppError):
    status, code = 429, "too_many_attempts"

    def __init__(self, retry_after: int, kind: str):
        super().__init__(f"too many failed logins for this {kind}; try again in {retry_after} s",
                         details={"retry_after": retry_after, "limited": kind})
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class Limit:
    kind: str  # "account" or "client"
    key: str
    allowed: int  # failures per window

    def ref(self, window: int):
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]  # no email or address in a document name
        return db().collection(COLLECTION).document(f"{self.kind}_{digest}_{window}")


def window_seconds() -> int:
    return int(os.environ.get("LOGIN_WINDOW_SECONDS") or 900)


def limits(email_key: str, client_address: str | None) -> list[Limit]:
    found = [Limit("account", email_key, int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT") or 5))]
    if client_address:
        found.append(Limit("client", client_address, int(os.environ.get("LOGIN_FAILURES_PER_CLIENT") or 30)))
    return found


def _window() -> tuple[int, float]:
    now, size = clock.now(), window_seconds()
    return int(now // size), now


def check(checked: list[Limit]) -> None:
    window, now = _window()
    for limit in checked:
        snap = limit.ref(window).get()
        if snap.exists and (snap.get("failures") or 0) >= limit.allowed:
            raise TooManyAttempts(max(1, math.ceil((window + 1) * window_seconds() - now)), limit.kind)


def failed(checked: list[Limit]) -> None:
    window, _ = _window()
    expire = datetime.fromtimestamp((window + 2) * window_seconds(), UTC)  # for Firestore's TTL policy
    for limit in checked:
        limit.ref(window).set({"failures": increment(1), "kind": limit.kind, "expire_at": expire}, merge=True)
