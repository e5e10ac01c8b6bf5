"""The OpenAPI 3 document, derived from the registry's routes."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.core.registry import Registry, Route

JSON, FORM = "application/json", "application/x-www-form-urlencoded"

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {},
    }}},
}
STATUS_TEXT = {400: "Invalid request", 401: "Missing or invalid bearer token",
               403: "Refused: the token lacks the scope, or the caller does not own the resource",
               404: "Not found", 405: "Method not allowed", 409: "Conflict with the current state",
               413: "Body too large", 415: "Unsupported Content-Type",
               422: "The Idempotency-Key was used for another request",
               429: "Too many attempts: wait the seconds Retry-After says",
               502: "The payment gateway is unavailable or refused the order: try again later"}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    "description": "Make retries safe: the first answer to a request under this key (scoped to the caller) "
                   "is stored and replayed, status included, to a retry of the same request; another request "
                   "under the same key gets 422 and changes nothing. A refused request (4xx) stores nothing.",
}


def _anchored(pattern: str) -> str:
    return f"^{pattern}$" if "|" not in pattern else f"^(?:{pattern})$"  # the server full-matches it


def _bodies(route: Route) -> list[type[BaseModel]]:
    if isinstance(route.body, dict):
        return list(route.body.values())
    return [] if route.body is None else [route.body]


def document(registry: Registry) -> dict:
    models = {m for r in registry.routes for m in (*_bodies(r), r.form, r.response) if m}
    mode: Literal["validation"] = "validation"
    keyed = sorted(((m, mode) for m in models), key=lambda pair: pair[0].__name__)
    refs, defs = models_json_schema(keyed, ref_template="#/components/schemas/{model}", by_alias=True)
    schemas = {**defs.get("$defs", {}), "Error": ERROR}
    paths: dict = {}
    for route in sorted(registry.routes, key=lambda r: (r.path, r.method)):
        op: dict = {"operationId": route.handler.__name__, "summary": route.summary, "tags": [route.surface],
                    "x-access": route.access}
        params = [{"name": p, "in": "path", "required": True,
                   "schema": {"type": "string", "pattern": _anchored(route.params[p])}} for p in route.path_params]
        if route.query:
            schema = route.query.model_json_schema()
            for name, prop in schema["properties"].items():
                params.append({"name": name, "in": "query", "required": name in schema.get("required", []),
                               "schema": prop})
        if route.idempotent:
            params.append(IDEMPOTENCY_KEY)
        if params:
            op["parameters"] = params
        if route.raw:
            schema = {"type": "string", "format": "binary"}
            op["requestBody"] = {"required": True, "content": {"*/*": {"schema": schema}}}
        elif route.form:
            op["requestBody"] = {"required": True, "content": {FORM: {"schema": refs[(route.form, "validation")]}}}
        elif route.body:  # one body, or one per value of the query's `type`
            schemas_ = [refs[(m, "validation")] for m in _bodies(route)]
            schema = schemas_[0] if len(schemas_) == 1 else {"oneOf": schemas_}
            op["requestBody"] = {"required": not route.body_optional, "content": {JSON: {"schema": schema}}}
        ok: dict[str, Any] = {"description": "OK"}
        if route.response:
            ok["content"] = {"application/json": {"schema": refs[(route.response, "validation")]}}
        op["responses"] = {str(route.status): ok}
        errors = [400] if (route.body or route.form or route.raw or route.query) else []  # raw: the handler validates
        if "requestBody" in op:
            errors += [413] if route.raw else [413, 415]
        if route.public:
            op["security"] = []  # no bearer token
        else:
            scopes = sorted({s for s in route.scope.values() if s}) if isinstance(route.scope, dict) else [route.scope]
            op["security"] = [{"bearer": [s for s in scopes if s]}]
            errors += [401, 403]
        errors += [404] if route.path_params else []
        errors += [409] if route.method in ("POST", "DELETE") and not route.public else []
        errors += [422] if route.idempotent else []
        errors += list(route.errors)
        for status in sorted(set(errors)):
            op["responses"][str(status)] = {"description": STATUS_TEXT[status], "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "Livestream monetization API", "version": "1.0.0"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                           "description": "HS256; claims sub, scope (space-separated), client_id, "
                                                          "iss, aud, iat, exp (at most 24 h after iat)"}},
        },
    }
