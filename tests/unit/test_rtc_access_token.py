"""The RTC AccessToken against the vendor's token sample: same bytes, and what parse and verify accept."""
from __future__ import annotations

import base64
import hmac
import struct
from collections import OrderedDict
from hashlib import sha256

import pytest

from shared.rtc import access_token
from shared.rtc.access_token import PRIVILEGES, SUBSCRIBE_STREAM, build, parse, verify, viewer_token

# The inputs of the vendor's own sample run (AccessTokenTest.py / AccessTokenTest.js of the token sample:
# app id "123456781234567812345678", key "app key", room "new room", user "new user id", subscribe
# forever, publish and the token for an hour), with the clock and the nonce fixed.
APP_ID, APP_KEY, ROOM, USER = "123456781234567812345678", "app key", "new room", "new user id"
NONCE, ISSUED_AT, EXPIRE_AT = 12345678, 1700000000, 1700003600

# What the vendor's samples serialize for those inputs: volcengine/rtc-aigc-embedded-demo
# server/src/AccessToken.py (commit 2bb1bf2dbbf40bb09ab59c1c0c39c84c797a34db) and
# volcengine/rtc-aigc-demo Server/token.js (commit 68da8e227dcbe45aa707fa368720c1fabdfeb547) give the
# same strings, with `nonce` and `issued_at` set after construction.
VENDOR_TOKEN = (
    "001123456781234567812345678QwBOYbwAAPFTZRD/U2UIAG5ldyByb29tCwBuZXcgdXNlciBpZAUAAAAQ/1NlAQAQ/1NlAgAQ/1Nl"
    "AwAQ/1NlBAAAAAAAIACBb1UkubyLiQbgSE8mW0V1iap6eADRs2XDmO8kgOsmtQ=="
)
# The same, with only PrivSubscribeStream until EXPIRE_AT.
VENDOR_VIEWER_TOKEN = (
    "001123456781234567812345678KwBOYbwAAPFTZRD/U2UIAG5ldyByb29tCwBuZXcgdXNlciBpZAEABAAQ/1NlIACmcGU3PfOkkjQR"
    "8RLwiokNmqz8Eyx7A1e5IhPulkUg4A=="
)


# --- Transcription of the vendor's sample, volcengine/rtc-aigc-embedded-demo server/src/AccessToken.py
# (commit 2bb1bf2dbbf40bb09ab59c1c0c39c84c797a34db; "Copyright (2025) Beijing Volcano Engine Technology
# Ltd.", MIT). Unchanged but for the constructor, which takes issued_at and nonce instead of reading the
# clock and `random`, and the names, prefixed with `ref_`.
ref_VERSION = "001"
ref_VERSION_LENGTH = 3
ref_APP_ID_LENGTH = 24
ref_PrivPublishStream = 0
ref_privPublishAudioStream = 1
ref_privPublishVideoStream = 2
ref_privPublishDataStream = 3
ref_PrivSubscribeStream = 4


class RefAccessToken:
    def __init__(self, app_id, app_key, room_id, user_id, issued_at, nonce):
        self.app_id = app_id
        self.app_key = app_key
        self.room_id = room_id
        self.user_id = user_id
        self.issued_at = issued_at
        self.nonce = nonce
        self.expire_at = 0
        self.privileges = {}

    def add_privilege(self, privilege, expire_ts):
        if self.privileges is None:
            self.privileges = {}

        self.privileges[privilege] = expire_ts
        if privilege == ref_PrivPublishStream:
            self.privileges[ref_privPublishVideoStream] = expire_ts
            self.privileges[ref_privPublishAudioStream] = expire_ts
            self.privileges[ref_privPublishDataStream] = expire_ts

    def expire_time(self, expire_ts):
        self.expire_at = expire_ts

    def pack_msg(self):
        m = ref_pack_uint32(self.nonce)
        m += ref_pack_uint32(self.issued_at)
        m += ref_pack_uint32(self.expire_at)
        m += ref_pack_string(self.room_id)
        m += ref_pack_string(self.user_id)
        m += ref_pack_map_uint32(self.privileges)
        return m

    def serialize(self):
        m = self.pack_msg()
        signature = hmac.new(self.app_key.encode('utf-8'), m, sha256).digest()
        content = ref_pack_bytes(m) + ref_pack_bytes(signature)

        return ref_VERSION + self.app_id + base64.b64encode(content).decode('utf-8')


def ref_parse(raw):
    if len(raw) <= ref_VERSION_LENGTH:
        return
    if raw[:ref_VERSION_LENGTH] != ref_VERSION:
        return

    token = RefAccessToken("", "", "", "", 0, 0)
    token.app_id = raw[ref_VERSION_LENGTH:ref_VERSION_LENGTH + ref_APP_ID_LENGTH]

    content_buf = base64.b64decode(raw[ref_VERSION_LENGTH + ref_APP_ID_LENGTH:])
    readbuf = RefReadByteBuffer(content_buf)

    msg = readbuf.unpack_bytes()
    token.signature = readbuf.unpack_bytes()

    msgbuf = RefReadByteBuffer(msg)
    token.nonce = msgbuf.unpack_uint32()
    token.issued_at = msgbuf.unpack_uint32()
    token.expire_at = msgbuf.unpack_uint32()
    token.room_id = msgbuf.unpack_string()
    token.user_id = msgbuf.unpack_string()
    token.privileges = msgbuf.unpack_map_uint32()
    return token


def ref_pack_uint16(x):
    return struct.pack('<H', int(x))


def ref_pack_uint32(x):
    return struct.pack('<I', int(x))


def ref_pack_string(string):
    return ref_pack_bytes(string.encode('utf-8'))


def ref_pack_bytes(b):
    return ref_pack_uint16(len(b)) + b


def ref_pack_map_uint32(m):
    m = OrderedDict(sorted(m.items(), key=lambda x: int(x[0])))

    ret = ref_pack_uint16(len(m.items()))

    for k, v in m.items():
        ret += ref_pack_uint16(k) + ref_pack_uint32(v)
    return ret


class RefReadByteBuffer:

    def __init__(self, bytes):
        self.buffer = bytes
        self.position = 0

    def unpack_uint16(self):
        len = struct.calcsize('H')
        buff = self.buffer[self.position: self.position + len]
        ret = struct.unpack('<H', buff)[0]
        self.position += len
        return ret

    def unpack_uint32(self):
        len = struct.calcsize('I')
        buff = self.buffer[self.position: self.position + len]
        ret = struct.unpack('<I', buff)[0]
        self.position += len
        return ret

    def unpack_string(self):
        return self.unpack_bytes().decode('utf-8')

    def unpack_bytes(self):
        strlen = self.unpack_uint16()
        buff = self.buffer[self.position: self.position + strlen]
        ret = struct.unpack('<' + str(strlen) + 's', buff)[0]
        self.position += strlen
        return ret

    def unpack_map_uint32(self):
        messages = {}
        maplen = self.unpack_uint16()

        for _ in range(maplen):
            key = self.unpack_uint16()
            value = self.unpack_uint32()
            messages[key] = value
        return messages
# --- end of the transcription


def _reference(app_id, app_key, room, user, *, expire_at, grants, issued_at, nonce) -> str:
    """The vendor sample's token: `grants` are add_privilege calls, in order."""
    token = RefAccessToken(app_id, app_key, room, user, issued_at, nonce)
    for privilege, expiry in grants:
        token.add_privilege(privilege, expiry)
    token.expire_time(expire_at)
    return token.serialize()


def _vendor_example() -> str:
    return build(APP_ID, APP_KEY, ROOM, USER, expire_at=EXPIRE_AT,
                 privileges={PRIVILEGES["PrivSubscribeStream"]: 0, PRIVILEGES["PrivPublishStream"]: EXPIRE_AT},
                 issued_at=ISSUED_AT, nonce=NONCE)


def _viewer(**overrides) -> str:
    args = {"expire_at": EXPIRE_AT, "issued_at": ISSUED_AT, "nonce": NONCE, **overrides}
    return viewer_token(APP_ID, APP_KEY, ROOM, USER, **args)


def _reencode(token: str, msg: bytes, signature: bytes) -> str:
    content = struct.pack("<H", len(msg)) + msg + struct.pack("<H", len(signature)) + signature
    return token[:27] + base64.b64encode(content).decode()


def test_privileges_are_the_vendors():
    assert PRIVILEGES == {"PrivPublishStream": 0, "privPublishAudioStream": 1, "privPublishVideoStream": 2,
                          "privPublishDataStream": 3, "PrivSubscribeStream": 4}
    assert SUBSCRIBE_STREAM == ref_PrivSubscribeStream == 4


def test_the_vendor_example_byte_for_byte():
    reference = _reference(APP_ID, APP_KEY, ROOM, USER, expire_at=EXPIRE_AT, issued_at=ISSUED_AT, nonce=NONCE,
                           grants=[(ref_PrivSubscribeStream, 0), (ref_PrivPublishStream, EXPIRE_AT)])
    assert reference == VENDOR_TOKEN
    assert _vendor_example() == VENDOR_TOKEN
    assert _viewer() == VENDOR_VIEWER_TOKEN


@pytest.mark.parametrize("room, user, expire_at, grants", [
    ("room-1", "viewer-42", 0, [(ref_PrivSubscribeStream, 0)]),
    ("直播间", "ユーザー", 4294967295, [(ref_PrivPublishStream, 1), (ref_PrivSubscribeStream, 2)]),
    ("r", "", 1700000001, [(ref_privPublishAudioStream, 9), (ref_privPublishDataStream, 7)]),
    ("", "u", 5, []),
])
def test_matches_the_vendor_sample_for_other_inputs(room, user, expire_at, grants):
    ours = build(APP_ID, "k" * 32, room, user, expire_at=expire_at, privileges=dict(grants), issued_at=3,
                 nonce=99999999)
    assert ours == _reference(APP_ID, "k" * 32, room, user, expire_at=expire_at, grants=grants, issued_at=3,
                              nonce=99999999)


def test_the_vendor_parser_reads_our_token_and_its_signature_holds():
    token = _viewer(expire_at=1800000000)
    ref = ref_parse(token)
    assert (ref.app_id, ref.room_id, ref.user_id) == (APP_ID, ROOM, USER)
    assert (ref.nonce, ref.issued_at, ref.expire_at) == (NONCE, ISSUED_AT, 1800000000)
    assert ref.privileges == {SUBSCRIBE_STREAM: 1800000000}
    assert hmac.new(APP_KEY.encode(), ref.pack_msg(), sha256).digest() == ref.signature


def test_parse_gives_the_fields():
    fields = parse(VENDOR_TOKEN)
    assert {k: fields[k] for k in ("version", "app_id", "nonce", "issued_at", "expire_at", "room_id", "user_id")} == {
        "version": "001", "app_id": APP_ID, "nonce": NONCE, "issued_at": ISSUED_AT, "expire_at": EXPIRE_AT,
        "room_id": ROOM, "user_id": USER}
    assert fields["privileges"] == {0: EXPIRE_AT, 1: EXPIRE_AT, 2: EXPIRE_AT, 3: EXPIRE_AT, 4: 0}
    assert len(fields["signature"]) == 32


def test_a_viewer_token_only_subscribes():
    fields = parse(_viewer())
    assert fields["privileges"] == {SUBSCRIBE_STREAM: EXPIRE_AT}
    assert not {PRIVILEGES[name] for name in PRIVILEGES if "Publish" in name} & fields["privileges"].keys()


@pytest.mark.parametrize("expire_at", [0, 1, EXPIRE_AT, 2**31, 2**32 - 1])
def test_expiry_round_trips(expire_at):
    fields = parse(_viewer(expire_at=expire_at))
    assert fields["expire_at"] == expire_at and fields["privileges"] == {SUBSCRIBE_STREAM: expire_at}
    assert verify(_viewer(expire_at=expire_at), APP_KEY)


def test_verify_accepts_the_right_key_and_refuses_a_wrong_one():
    assert verify(VENDOR_TOKEN, APP_KEY) and verify(_viewer(), APP_KEY)
    assert not verify(VENDOR_TOKEN, "app kez")
    assert not verify(_viewer(), "")


def test_verify_with_a_clock_refuses_an_expired_token():
    assert verify(_viewer(), APP_KEY, now=EXPIRE_AT)
    assert not verify(_viewer(), APP_KEY, now=EXPIRE_AT + 1)
    assert verify(_viewer(expire_at=0), APP_KEY, now=2**32 - 1)  # 0: never expires


def test_a_tampered_token_fails():
    fields = parse(VENDOR_TOKEN)
    msg, signature = fields["message"], fields["signature"]
    assert _reencode(VENDOR_TOKEN, msg, signature) == VENDOR_TOKEN
    longer = msg.replace(struct.pack("<I", EXPIRE_AT), struct.pack("<I", EXPIRE_AT + 86400), 1)
    other_room = msg.replace(b"new room", b"new roon")
    flipped = signature[:-1] + bytes([signature[-1] ^ 1])
    for tampered in (_reencode(VENDOR_TOKEN, longer, signature), _reencode(VENDOR_TOKEN, other_room, signature),
                     _reencode(VENDOR_TOKEN, msg, flipped), _reencode(VENDOR_TOKEN, msg + b"\0", signature)):
        assert tampered != VENDOR_TOKEN and not verify(tampered, APP_KEY)
    assert parse(_reencode(VENDOR_TOKEN, longer, signature))["expire_at"] == EXPIRE_AT + 86400


@pytest.mark.parametrize("token", [
    "", "001", VENDOR_TOKEN[:40], "002" + VENDOR_TOKEN[3:], VENDOR_TOKEN[:27] + "!!!!", VENDOR_TOKEN + "AAAA",
    VENDOR_TOKEN[:27] + base64.b64encode(b"\xff\xff").decode(),
])
def test_malformed_tokens_do_not_parse_or_verify(token):
    with pytest.raises(ValueError):
        parse(token)
    assert not verify(token, APP_KEY)


def test_build_refuses_what_the_format_cannot_carry():
    with pytest.raises(ValueError):
        viewer_token("short-app-id", APP_KEY, ROOM, USER, expire_at=1, issued_at=1, nonce=1)
    with pytest.raises(ValueError):
        _viewer(expire_at=2**32)
    with pytest.raises(ValueError):
        _viewer(nonce=-1)
    with pytest.raises(ValueError):
        build(APP_ID, APP_KEY, ROOM, USER, expire_at=1, privileges={70000: 1}, issued_at=1, nonce=1)
    with pytest.raises(ValueError):
        viewer_token(APP_ID, APP_KEY, "x" * 65536, USER, expire_at=1, issued_at=1, nonce=1)


def test_the_module_uses_the_vendor_version_and_app_id_length():
    assert (access_token.VERSION, access_token.APP_ID_LENGTH) == (ref_VERSION, ref_APP_ID_LENGTH)
