"""Errors a client may see, always as {"error": {"code", "message", "details"}}."""
from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 400
    code = "bad_request"

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
    status, code = 409, "conflict"


class AlreadyApplied(Conflict):
    """The step this delivery asks for has already been applied: a repeat to acknowledge.

    `flushed` is False while another run is still applying the step's effects: a delivery that
    can be retried (Pub/Sub, Cloud Tasks) should be, so that a run that died is made good.
    """

    code = "already_applied"

    def __init__(self, message: str, *, flushed: bool = True, **kwargs):
        super().__init__(message, **kwargs)
        self.flushed = flushed


class Retry(AppError):
    """Try this delivery again later."""

    status, code = 503, "retry"


def field_error(loc: list, msg: str, type_: str = "value_error") -> ValidationFailed:
    """A validation error shaped like pydantic's, for rules that need the clock or the database."""
    return ValidationFailed("request validation failed", details=[{"loc": loc, "msg": msg, "type": type_}])


def pydantic_details(exc, prefix: str) -> list[dict]:
    return [
        {"loc": [prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
