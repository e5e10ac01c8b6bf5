"""HTTP adapter: request -> authenticated, validated call -> handler -> response.

Order per request: refuse a declared body over MAX_BODY, match the route, verify the bearer token
and scope, check the path parameters' formats, read the body (never more than MAX_BODY + 1
bytes), check its Content-Type, then parse the query and body into the route's pydantic models.
Handlers return a pydantic model or a dict (sent as JSON) or a `Response` (Text, Html, Redirect).
Every error is JSON: {"error": {"code", "message", "details"}}.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError

from shared.core import idempotency, logs, options, steps
from shared.core.auth import Principal, authenticate
from shared.core.errors import (
    AlreadyApplied,
    AppError,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    ValidationFailed,
    pydantic_details,
)
from shared.core.registry import REGISTRY, Route
from shared.core.steps import ClientKey

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # bytes: far above any body a route takes, far below what would hurt
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
INTERNAL = {"error": {"code": "internal", "message": "internal error", "details": None}}


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class Headers(Mapping):
    """Request headers, looked up case-insensitively (from a dict or werkzeug's headers)."""

    def __init__(self, headers: Any = ()):
        items = headers.items() if hasattr(headers, "items") else headers
        self._items = {name.lower(): value for name, value in items}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Call:
    principal: Principal | None
    params: dict[str, str]
    query: Any = None
    body: Any = None  # the route's body= or form= model, the bytes for raw=True, else None
    headers: Headers = field(default_factory=Headers)
    raw_body: bytes = b""
    cookies: dict[str, str] = field(default_factory=dict)
    client_key: ClientKey | None = None  # the caller's Idempotency-Key, on idempotent routes: the step key
    peer: str | None = None  # the address the request came from (a proxy's, behind one)

    @property
    def caller(self) -> Principal:
        """The authenticated principal: every route that is not public has one."""
        if self.principal is None:
            raise TypeError("a public route has no caller")
        return self.principal

    @property
    def client_address(self) -> str | None:
        """The caller's address: Cloud Run's front end appends the address it saw to
        X-Forwarded-For, so the last entry is the one a client cannot forge; else the peer's."""
        forwarded = [part.strip() for part in self.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        return forwarded[-1] if forwarded else self.peer


@dataclass(frozen=True)
class Cookie:
    """A Set-Cookie; HttpOnly, Secure and SameSite=Lax unless said otherwise. max_age=0 deletes it."""

    name: str
    value: str
    max_age: int | None = None  # seconds; None: until the browser closes
    path: str = "/"
    domain: str | None = None
    http_only: bool = True
    secure: bool = True
    same_site: str | None = "Lax"  # "Strict", "Lax", "None" (browsers want Secure with it) or None


@dataclass
class Response:
    """What a handler may return instead of JSON (see Text, Html, Redirect), and what serve() sends."""

    status: int = 200
    body: bytes | str = b""
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[Cookie] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


def Json(data: Any, status: int = 200, **extra) -> Response:
    return Response(status, json.dumps(data), JSON, **extra)


def Text(body: str, status: int = 200, **extra) -> Response:
    return Response(status, body, "text/plain; charset=utf-8", **extra)


def Html(body: str, status: int = 200, **extra) -> Response:
    return Response(status, body, "text/html; charset=utf-8", **extra)


def Redirect(url: str, status: int = 302, **extra) -> Response:
    if status not in (301, 302, 303, 307, 308):
        raise ValueError(f"{status} is not a redirect status")
    if "\r" in url or "\n" in url:  # would split the Location header
        raise ValueError("a redirect URL cannot contain line breaks")
    headers = {**extra.pop("headers", {}), "Location": url}
    return Response(status, b"", "text/plain; charset=utf-8", headers=headers, **extra)


@functools.cache  # route templates are few and fixed: compile each once, not on every request
def _pattern(path: str) -> re.Pattern:
    parts = re.split(r"{(\w+)}", path)  # literal, name, literal, ...: literals are matched as written
    return re.compile("".join(f"(?P<{p}>[^/]+)" if i % 2 else re.escape(p) for i, p in enumerate(parts)))


def match(method: str, path: str, surface: str | None) -> tuple[Route, dict[str, str]]:
    allowed = []
    for route in REGISTRY.routes:
        if surface and route.surface != surface:
            continue
        found = _pattern(route.path).fullmatch(path)
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
    return next((r.surface for r in REGISTRY.routes if _pattern(r.path).fullmatch(path)), None)


def validate(model: type[BaseModel], data: Any, where: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("request validation failed", details=pydantic_details(exc, where)) from None


def _declared_length(headers: Headers) -> int:
    value = headers.get("Content-Length", "0").strip()
    if not re.fullmatch(r"[0-9]{1,18}", value):
        raise ValidationFailed("invalid Content-Length header")
    return int(value)


def _read(body: bytes | IO[bytes]) -> bytes:
    """At most MAX_BODY + 1 bytes: enough to tell a body is too large without reading all of it."""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body[:MAX_BODY + 1])
    chunks, size = [], 0
    while size <= MAX_BODY:
        chunk = body.read(MAX_BODY + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _require_media_type(headers: Headers, expected: str) -> None:
    kind, *options = headers.get("Content-Type", "").split(";")
    params = dict(o.strip().lower().partition("=")[::2] for o in options if o.strip())
    charset = params.pop("charset", "utf-8").strip('"')
    if kind.strip().lower() != expected or params or charset != "utf-8":
        raise UnsupportedMediaType(f"send the body as {expected}", details={"expected": expected})


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json_object(raw: bytes) -> dict:
    try:
        data = json.loads(raw or b"null", parse_constant=_refuse_constant)
    except RecursionError:
        raise ValidationFailed("the body is nested too deeply") from None
    except ValueError:  # includes bytes that are not UTF-8
        raise ValidationFailed("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object")
    return data


def parse_form(raw: bytes) -> dict:
    """Keys as sent (`channel_name[0]` stays one key); a key sent more than once gets a list."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise ValidationFailed("the body is not valid form data") from None
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key not in data:
            data[key] = value
        else:
            data[key] = [*data[key], value] if isinstance(data[key], list) else [data[key], value]
    return data


def _body(route: Route, raw: bytes, query: Any) -> Any:
    if route.raw:
        return raw
    if route.form:
        return validate(route.form, parse_form(raw), "body")
    if route.body:  # a route may take one body per goal type and the like: chosen by the query's `type`
        model = route.body[query.type] if isinstance(route.body, dict) else route.body
        return validate(model, parse_json_object(raw or (b"{}" if route.body_optional else b"")), "body")
    return None


def _require_owner(name: str, params: dict[str, str], principal: Principal) -> None:
    owner = REGISTRY.owners[name]
    if principal.user_id not in owner.owners(params[owner.param]):
        raise Forbidden(f"only the {name}'s owner may do this", code="not_owner")


def _cookies(headers: Headers) -> dict[str, str]:
    if "Cookie" not in headers:
        return {}
    from werkzeug.http import parse_cookie

    return parse_cookie(headers["Cookie"]).to_dict()


def _error(exc: AppError) -> Response:
    response = Json(exc.body(), exc.status, headers=dict(getattr(exc, "headers", {})))  # e.g. Retry-After
    if isinstance(exc, MethodNotAllowed) and isinstance(exc.details, dict):
        response.headers["Allow"] = ", ".join(exc.details.get("allowed", []))
    return response


def respond(method: str, path: str, headers: Any, args: dict, body: bytes | IO[bytes] = b"",
            surface: str | None = None, peer: str | None = None) -> Response:
    """One request to its response; `body` is the bytes or a stream to read them from."""
    headers = Headers(headers)
    try:
        if _declared_length(headers) > MAX_BODY:  # first: an oversized request gets no work at all
            raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes", details={"limit": MAX_BODY})
        route, params = match(method, path, surface)
        principal = None if route.public else authenticate(headers.get("Authorization"))
        query = None
        if principal is not None:
            if isinstance(route.scope, dict):  # a scope per goal type and the like: the query first
                if route.query is None:
                    raise TypeError(f"route {method} {route.path} has a scope per query type but no query")
                query = validate(route.query, args, "query")
                principal.require(route.scope[query.type])
            else:
                principal.require(route.scope)
        for name, value in params.items():
            if not re.fullmatch(route.params[name], value):
                raise NotFound(f"{name} {value!r} not found")
        if route.owner:
            if principal is None:  # Registry.check() refuses an owner on a public route
                raise TypeError(f"route {method} {route.path} names an owner but is public")
            _require_owner(route.owner, params, principal)
        raw = _read(body)  # only now, for an authenticated caller
        if len(raw) > MAX_BODY:
            raise PayloadTooLarge(f"the body is larger than {MAX_BODY} bytes", details={"limit": MAX_BODY})
        if raw and not route.raw:  # a request without a body may leave out the Content-Type
            _require_media_type(headers, FORM if route.form else JSON)
        if query is None and route.query:
            query = validate(route.query, args, "query")
        parsed = _body(route, raw, query)
        key = headers.get(idempotency.HEADER) if route.idempotent and principal else None
        client_key = None if key is None or principal is None else idempotency.client_key(
            principal.user_id, key, method, path, args, raw, route.status)
        if client_key and (stored := steps.stored(client_key.step_key)) is not None:
            return Json(*reversed(idempotency.replay(stored, client_key)))  # a retry: the rules do not run again
        try:
            with options.declared(REGISTRY.surface_options[route.surface]):
                result = route.handler(Call(principal, params, query, parsed, headers, raw, _cookies(headers),
                                            client_key, peer))
        except AlreadyApplied as repeat:
            if client_key is None:
                raise
            return Json(*reversed(idempotency.replay(repeat.marker, client_key)))  # a concurrent retry won
        if isinstance(result, Response):
            return result
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json", by_alias=True)
        return Json(result, route.status)
    except AppError as exc:
        return _error(exc)
    except Exception:
        log.exception("unhandled error on %s %s", method, path)
        return Json(INTERNAL, 500)


def handle(method: str, path: str, headers, args: dict, body: bytes | IO[bytes] = b"",
           surface: str | None = None) -> tuple[int, Any]:
    """respond() as (status, body): the JSON body decoded, or the Response when it is not JSON."""
    response = respond(method, path, headers, args, body, surface)
    return response.status, response.json() if response.content_type == JSON else response


def to_flask(response: Response):
    import flask

    out = flask.Response(response.body, status=response.status, content_type=response.content_type)
    for name, value in response.headers.items():
        out.headers[name] = value
    for c in response.cookies:
        out.set_cookie(c.name, c.value, max_age=c.max_age, path=c.path, domain=c.domain, secure=c.secure,
                       httponly=c.http_only, samesite=c.same_site)
    return out


def json_response(status: int, body: Any):
    return to_flask(Json(body, status))


def serve(request, surface: str | None = None):
    """Entry for a functions-framework HTTP function (a flask request)."""
    trace = logs.trace_from_header(request.headers.get("X-Cloud-Trace-Context")) or os.urandom(16).hex()
    with logs.bound(trace=trace, method=request.method, path=request.path):
        response = respond(request.method, request.path, request.headers, request.args.to_dict(), request.stream,
                           surface, request.remote_addr)
    return to_flask(response)


# werkzeug's names for these differ from ours ("Request Entity Too Large", "Internal Server Error")
_FLASK_CODES = {413: "payload_too_large", 415: "unsupported_media_type", 500: "internal"}


def _flask_error(exc):
    """An error flask answers itself (a path its routing refuses, a crash) as one of ours."""
    status = exc.code or 500
    code = _FLASK_CODES.get(status) or re.sub(r"[^a-z0-9]+", "_", exc.name.lower()).strip("_")
    message = "internal error" if status == 500 else exc.description or exc.name
    response = json_response(status, {"error": {"code": code, "message": message, "details": None}})
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value  # e.g. Allow on a 405
    if status == 500:
        response.headers["X-Google-Status"] = "crash"  # as functions-framework's own crash page says
    return response


def install_error_handlers() -> None:
    """In an entry point that functions-framework executes inside its flask app: JSON for flask's errors."""
    import flask
    from werkzeug.exceptions import HTTPException

    if not flask.has_app_context():  # imported by a test or a tool, not loaded by create_app
        return
    flask.current_app.register_error_handler(HTTPException, _flask_error)
    flask.current_app.register_error_handler(500, _flask_error)  # replaces functions-framework's text page
