"""HTTP adapter: request -> authenticated, validated call -> handler -> JSON response.

Order per request: match the route, verify the bearer token and scope, check path ids, then
parse the query and body into the route's pydantic models. Every error is JSON.
"""
from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.core import ids
from shared.core.auth import Principal, authenticate
from shared.core.errors import (
    AppError,
    MethodNotAllowed,
    NotFound,
    ValidationFailed,
    pydantic_details,
)
from shared.core.registry import REGISTRY, Route

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    principal: Principal | None
    params: dict[str, str]
    query: Any = None
    body: Any = None


@functools.cache  # route templates are few and fixed: compile each once, not on every request
def _pattern(path: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", path) + "$")


def match(method: str, path: str, surface: str | None) -> tuple[Route, dict[str, str]]:
    allowed = []
    for route in REGISTRY.routes:
        if surface and route.surface != surface:
            continue
        found = _pattern(route.path).match(path)
        if not found:
            continue
        if route.method == method:
            return route, found.groupdict()
        allowed.append(route.method)
    if allowed:
        raise MethodNotAllowed(f"{method} is not allowed here", details={"allowed": sorted(allowed)})
    raise NotFound(f"no route for {path}")


def surface_for(path: str) -> str | None:
    """The surface whose routes include `path` (any method): how a gateway picks the function."""
    return next((r.surface for r in REGISTRY.routes if _pattern(r.path).match(path)), None)


def _validate(model: type[BaseModel], data: Any, where: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("request validation failed", details=pydantic_details(exc, where)) from None


def handle(method: str, path: str, headers, args: dict, raw_body: bytes, surface: str | None = None) -> tuple[int, dict]:
    try:
        route, params = match(method, path, surface)
        principal = None if route.public else authenticate(headers.get("Authorization"))
        if principal:
            principal.require(route.scope)
        for name, value in params.items():
            if name.endswith("_id") and not ids.is_object_id(value):
                raise NotFound(f"{name} {value!r} not found")
        query = _validate(route.query, args, "query") if route.query else None
        body = None
        if route.body:
            try:
                data = json.loads(raw_body or b"null")
            except ValueError:
                raise ValidationFailed("the body is not valid JSON") from None
            if not isinstance(data, dict):
                raise ValidationFailed("the body must be a JSON object")
            body = _validate(route.body, data, "body")
        result = route.handler(Call(principal, params, query, body))
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json", by_alias=True)
        return route.status, result
    except AppError as exc:
        return exc.status, exc.body()
    except Exception:
        log.exception("unhandled error on %s %s", method, path)
        return 500, {"error": {"code": "internal", "message": "internal error", "details": None}}


def json_response(status: int, body: dict):
    import flask

    return flask.Response(json.dumps(body), status=status, mimetype="application/json")


def serve(request, surface: str | None = None):
    """Entry for a functions-framework HTTP function (a flask request)."""
    return json_response(*handle(
        request.method, request.path, request.headers, request.args.to_dict(), request.get_data(), surface
    ))
