"""The request signature of BytePlus (and Volcengine) OpenAPIs, "HMAC-SHA256", as the vendor SDK signs.

Reproduces `SignerV4.sign` of byteplus-sdk/byteplus-sdk-python (byteplus_sdk/auth/SignerV4.py,
byteplus_sdk/util/Util.py; volcengine/volc-sdk-python volcengine/auth/SignerV4.py and
volcengine/volcengine-python-sdk volcenginesdkcore/signv4.py are the same algorithm), documented
as "Calculating a signature"
(docs.byteplus.com/en/docs/byteplus-platform/reference-how-to-calculate-a-signature):

    CanonicalRequest = Method \\n CanonicalURI \\n CanonicalQuery \\n CanonicalHeaders \\n SignedHeaders
                       \\n hex(sha256(body))
        CanonicalQuery    keys sorted, keys and values percent-encoded except A-Z a-z 0-9 - _ . ~
        CanonicalHeaders  "name:value\\n" per signed header, names lowercased and sorted; a Host value
                          drops a :80 or :443 port
        SignedHeaders     Content-Type, Content-Md5, Host and every X-* header the request carries,
                          lowercased, sorted, joined by ";" (here: content-type;host;x-content-sha256;x-date)
    StringToSign     = "HMAC-SHA256" \\n X-Date \\n {yyyymmdd}/{region}/{service}/request
                       \\n hex(sha256(CanonicalRequest))
    kSigning         = HMAC(HMAC(HMAC(HMAC(secret, yyyymmdd), region), service), "request")
    Authorization    = "HMAC-SHA256 Credential={ak}/{scope}, SignedHeaders={signed}, Signature="
                       hex(HMAC(kSigning, StringToSign))

X-Date is the UTC time as YYYYMMDDTHHMMSSZ; X-Content-Sha256 carries hex(sha256(body)). The client
(shared.rtc.byteplus) signs with `sign`, the local server (shared.localstack.rtc) checks with `verify`.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import quote, urlsplit

ALGORITHM = "HMAC-SHA256"
SERVICE = "rtc"
_UNRESERVED = "-_.~"  # what the SDK leaves unencoded besides letters and digits
_AUTHORIZATION = re.compile(
    r"HMAC-SHA256 Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})"
)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_query(query: Mapping[str, str]) -> str:
    pairs = sorted((quote(k, safe=_UNRESERVED), quote(v, safe=_UNRESERVED)) for k, v in query.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def _header_value(name: str, value: str) -> str:
    value = value.strip()
    if name == "host" and value.rsplit(":", 1)[-1] in ("80", "443") and ":" in value:
        return value.rsplit(":", 1)[0]  # the SDK signs a default port as the bare host
    return value


def canonical_request(method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
                      body_hash: str) -> str:
    """`headers`: the signed headers only, by lowercase name."""
    names = sorted(headers)
    lines = "".join(f"{name}:{_header_value(name, headers[name])}\n" for name in names)
    uri = quote(path or "/", safe="/" + _UNRESERVED)
    return "\n".join([method, uri, canonical_query(query), lines, ";".join(names), body_hash])


def signature(secret_key: str, x_date: str, region: str, service: str, canonical: str) -> str:
    scope = credential_scope(x_date, region, service)
    to_sign = "\n".join([ALGORITHM, x_date, scope, sha256_hex(canonical.encode())])
    key = secret_key.encode()
    for part in (x_date[:8], region, service, "request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def credential_scope(x_date: str, region: str, service: str) -> str:
    return f"{x_date[:8]}/{region}/{service}/request"


def x_date(now: datetime.datetime | None = None) -> str:
    return (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%SZ")


def sign(method: str, url: str, query: Mapping[str, str], body: bytes, *, access_key_id: str, secret_key: str,
         region: str, service: str = SERVICE, content_type: str = "application/json",
         now: datetime.datetime | None = None) -> dict[str, str]:
    """The headers to send with the request (Host included, so what is signed is what is sent)."""
    parts = urlsplit(url)
    headers = {"Content-Type": content_type, "Host": parts.netloc, "X-Date": x_date(now),
               "X-Content-Sha256": sha256_hex(body)}
    signed = {name.lower(): value for name, value in headers.items()}
    canonical = canonical_request(method, parts.path, query, signed, headers["X-Content-Sha256"])
    sig = signature(secret_key, headers["X-Date"], region, service, canonical)
    scope = credential_scope(headers["X-Date"], region, service)
    headers["Authorization"] = (f"{ALGORITHM} Credential={access_key_id}/{scope}, "
                                f"SignedHeaders={';'.join(sorted(signed))}, Signature={sig}")
    return headers


class Headers(Protocol):
    """Request headers looked up case-insensitively, as werkzeug's Headers are."""

    def get(self, name: str, /) -> str | None: ...


class Refused(Exception):
    """A request the gateway refuses: `code` is the vendor's common error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def verify(method: str, path: str, query: Mapping[str, str], headers: Headers, body: bytes, *,
           secrets: Mapping[str, str], region: str, service: str = SERVICE, now: datetime.datetime | None = None,
           max_skew: datetime.timedelta = datetime.timedelta(minutes=15)) -> str:
    """Check a signed request as the gateway would; returns the access key id, or raises Refused.
    `headers` is case-insensitive (a werkzeug Headers); `secrets` maps access key ids to secret keys."""
    authorization = headers.get("Authorization") or ""
    if not authorization:
        raise Refused("MissingAuthenticationToken", "Request is missing Authentication Token.")
    match = _AUTHORIZATION.fullmatch(authorization.strip())
    if match is None:
        raise Refused("MissingSignature", "The request is missing signature.")
    access_key_id, _, scope = match["credential"].partition("/")
    if access_key_id not in secrets:
        raise Refused("InvalidAccessKey", f"The accesskey [{access_key_id}] included in the request is invalid.")
    date = headers.get("X-Date") or ""
    try:
        signed_at = datetime.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        raise Refused("InvalidTimestamp", "The signature of the request is expired.") from None
    if abs((now or datetime.datetime.now(datetime.UTC)) - signed_at) > max_skew:
        raise Refused("InvalidTimestamp", "The signature of the request is expired.")
    names = match["signed"].split(";")
    body_hash = sha256_hex(body)
    mismatch = Refused("SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                       "you provided. Check your Secret Access Key and signing method. Consult the service "
                       "documentation for details.")
    # host and x-date must be signed when present; the body counts only through x-content-sha256
    if not {"host", "x-date", "x-content-sha256"} <= set(names):
        raise mismatch
    signed: dict[str, str] = {}
    for name in names:
        value = headers.get(name)
        if value is None:
            raise mismatch
        signed[name] = value
    if headers.get("X-Content-Sha256") != body_hash or scope != credential_scope(date, region, service):
        raise mismatch
    canonical = canonical_request(method, path, query, signed, body_hash)
    expected = signature(secrets[access_key_id], date, region, service, canonical)
    if not hmac.compare_digest(expected, match["signature"]):
        raise mismatch
    return access_key_id
