"""Errors a client may see, always as {"error": {"code", "message", "details"}}.

`retryable` tells a delivery (Pub/Sub, Cloud Tasks) whether trying again could succeed: a goal
that no longer exists will not exist on the next attempt either, so that delivery is dropped
instead of being retried to the dead-letter topic.
"""
from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 400
    code = "bad_request"
    retryable = False

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(AppError):
    status, code = 400, "validation_error"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class MethodNotAllowed(AppError):
    status, code = 405, "method_not_allowed"


class Conflict(AppError):
    """The request contradicts the current state (a goal that has already ended)."""

    status, code = 409, "conflict"


class Busy(Conflict):
    """Another request is changing the same resource right now: try again shortly."""

    code, retryable = "resource_busy", True


class Unprocessable(AppError):
    status, code = 422, "unprocessable"


class AlreadyApplied(AppError):
    """The step this delivery asks for has already been applied (its marker exists): a repeat.

    Not a domain conflict: it says nothing about the state, only that this exact change was made.
    `flushed` is False while another run is still applying the step's effects: a delivery that
    can be retried (Pub/Sub, Cloud Tasks) should be, so that a run that died is made good.
    `marker` is the step's marker document (its stored response, for idempotent requests).
    """

    status, code = 409, "already_applied"

    def __init__(self, message: str, *, flushed: bool = True, marker: dict | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.flushed = flushed
        self.marker = marker or {}


class Retry(AppError):
    """Try this delivery again later."""

    status, code, retryable = 503, "retry", True


def field_error(loc: list, msg: str, type_: str = "value_error") -> ValidationFailed:
    """A validation error shaped like pydantic's, for rules that need the clock or the database."""
    return ValidationFailed("request validation failed", details=[{"loc": loc, "msg": msg, "type": type_}])


def pydantic_details(exc, prefix: str) -> list[dict]:
    return [
        {"loc": [prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
