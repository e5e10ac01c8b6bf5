"""The BytePlus (Volcengine) RTC AccessToken a client passes to joinRoom, built as the vendor's samples build it.

Reproduces `AccessToken.serialize` / `parse` of the vendor's token sample (linked from "Authentication
with Token", docs.byteplus.com/byteplus-rtc/docs/70121, volcengine.com/docs/6348/70121), as published in
volcengine/rtc-aigc-embedded-demo server/src/AccessToken.py (Python) and volcengine/rtc-aigc-demo
Server/token.js (Node.js); both give the same bytes:

    msg     = u32 nonce | u32 issued_at | u32 expire_at | str room_id | str user_id
              | u16 count, then (u16 privilege, u32 expire_at) per privilege, ascending
    sig     = HMAC-SHA256(app_key, msg)
    token   = "001" + app_id (24 characters) + base64(u16 len(msg) | msg | u16 len(sig) | sig)

Integers are little-endian; a str is a u16 byte length and its UTF-8 bytes. An expire_at of 0 means
"never". As in the sample, granting PrivPublishStream also grants audio, video and data publishing.
The signature does not cover app_id: a verifier must also check it is its own.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from typing import Any

VERSION = "001"
APP_ID_LENGTH = 24

# The vendor's names and values (the three lowercase ones are "not exported" there: PrivPublishStream implies them).
PRIVILEGES: dict[str, int] = {
    "PrivPublishStream": 0,
    "privPublishAudioStream": 1,
    "privPublishVideoStream": 2,
    "privPublishDataStream": 3,
    "PrivSubscribeStream": 4,
}
PUBLISH_STREAM, PUBLISH_AUDIO, PUBLISH_VIDEO, PUBLISH_DATA, SUBSCRIBE_STREAM = PRIVILEGES.values()
_IMPLIED_BY_PUBLISH = (PUBLISH_VIDEO, PUBLISH_AUDIO, PUBLISH_DATA)
_U16, _U32 = struct.Struct("<H"), struct.Struct("<I")


def _u32(name: str, value: int) -> bytes:
    if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{name} must be an integer in 0..2**32-1, not {value!r}")
    return _U32.pack(value)


def _bytes(name: str, data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise ValueError(f"{name} is longer than 65535 bytes")
    return _U16.pack(len(data)) + data


def _message(room_id: str, user_id: str, expire_at: int, privileges: dict[int, int], issued_at: int,
             nonce: int) -> bytes:
    granted = dict(privileges)
    if PUBLISH_STREAM in granted:
        for implied in _IMPLIED_BY_PUBLISH:
            granted.setdefault(implied, granted[PUBLISH_STREAM])
    parts = [_u32("nonce", nonce), _u32("issued_at", issued_at), _u32("expire_at", expire_at),
             _bytes("room_id", room_id.encode()), _bytes("user_id", user_id.encode()), _U16.pack(len(granted))]
    for privilege in sorted(granted):
        if not isinstance(privilege, int) or not 0 <= privilege <= 0xFFFF:
            raise ValueError(f"privilege must be an integer in 0..65535, not {privilege!r}")
        parts += [_U16.pack(privilege), _u32(f"privilege {privilege} expiry", granted[privilege])]
    return b"".join(parts)


def build(app_id: str, app_key: str, room_id: str, user_id: str, *, expire_at: int, privileges: dict[int, int],
          issued_at: int, nonce: int) -> str:
    """The token letting `user_id` into `room_id` until `expire_at` (unix seconds, 0: never) with `privileges`
    ({privilege: its own expiry}). A PrivPublishStream entry also grants audio, video and data publishing
    until its expiry, unless those are given explicitly. Deterministic: callers pass the clock and a random nonce."""
    if len(app_id) != APP_ID_LENGTH or not app_id.isascii():
        raise ValueError(f"app_id must be {APP_ID_LENGTH} ASCII characters")
    msg = _message(room_id, user_id, expire_at, privileges, issued_at, nonce)
    signature = hmac.new(app_key.encode(), msg, hashlib.sha256).digest()
    return VERSION + app_id + base64.b64encode(_bytes("message", msg) + _bytes("signature", signature)).decode()


def viewer_token(app_id: str, app_key: str, room_id: str, user_id: str, *, expire_at: int, issued_at: int,
                 nonce: int) -> str:
    """A watcher's token: subscribe only (no publishing of any kind), the privilege expiring with the token."""
    return build(app_id, app_key, room_id, user_id, expire_at=expire_at, privileges={SUBSCRIBE_STREAM: expire_at},
                 issued_at=issued_at, nonce=nonce)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise ValueError("token is truncated")
        self.at += n
        return self.data[self.at - n:self.at]

    def u16(self) -> int:
        return _U16.unpack(self.take(2))[0]

    def u32(self) -> int:
        return _U32.unpack(self.take(4))[0]

    def bytes(self) -> bytes:
        return self.take(self.u16())

    def end(self) -> None:
        if self.at != len(self.data):
            raise ValueError("token has trailing bytes")


def parse(token: str) -> dict:
    """The token's fields: version, app_id, nonce, issued_at, expire_at, room_id, user_id, privileges
    ({privilege: expiry}), message and signature (bytes). Raises ValueError when it is not such a token."""
    if not isinstance(token, str) or len(token) <= len(VERSION) + APP_ID_LENGTH or not token.startswith(VERSION):
        raise ValueError(f"not a version {VERSION} RTC token")
    try:
        content = base64.b64decode(token[len(VERSION) + APP_ID_LENGTH:], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("token content is not base64") from None
    outer = _Reader(content)
    msg, signature = outer.bytes(), outer.bytes()
    outer.end()
    reader = _Reader(msg)
    fields: dict[str, Any] = {"version": VERSION, "app_id": token[len(VERSION):len(VERSION) + APP_ID_LENGTH],
              "nonce": reader.u32(), "issued_at": reader.u32(), "expire_at": reader.u32()}
    try:
        fields["room_id"], fields["user_id"] = reader.bytes().decode(), reader.bytes().decode()
    except UnicodeDecodeError:
        raise ValueError("token room or user id is not UTF-8") from None
    fields["privileges"] = {}
    for _ in range(reader.u16()):
        privilege = reader.u16()
        fields["privileges"][privilege] = reader.u32()
    reader.end()
    return {**fields, "message": msg, "signature": signature}


def verify(token: str, app_key: str, *, now: int | None = None) -> bool:
    """Whether `token` is well formed and signed with `app_key`; given `now` (unix seconds), also that it has
    not expired (the sample's rule: an expire_at of 0 never expires)."""
    try:
        fields = parse(token)
    except ValueError:
        return False
    expected = hmac.new(app_key.encode(), fields["message"], hashlib.sha256).digest()
    if not hmac.compare_digest(expected, fields["signature"]):
        return False
    return now is None or not 0 < fields["expire_at"] < now
