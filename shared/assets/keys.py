"""Content keys (`content_keys/{key_id}`): one AES-128 key per encoded source generation. HLS
segments are encrypted by ffmpeg with it (AES-128-CBC, the segment's sequence number as IV), image
renditions here (AES-128-CBC, PKCS#7, an IV per file kept beside it). Who may fetch a key is
the posts' rule (GET /posts/{id}/keys/{key_id}); only this feature writes keys."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from pydantic import BaseModel

from shared.core import clock
from shared.core.firestore import Txn, db

KEYS = "content_keys"


class ContentKey(BaseModel):
    key_id: str
    asset_id: str
    generation: int
    key: str  # base64 of the 16 bytes
    created_at: float

    @property
    def secret(self) -> bytes:
        return base64.b64decode(self.key)


def key_ref(key_id: str):
    return db().collection(KEYS).document(key_id)


def key_id(asset_id: str, generation: int) -> str:
    """Named by what it encrypts, so a retried encode finds the same key."""
    return hashlib.sha256(f"{asset_id}:{generation}".encode()).hexdigest()[:24]


def ensure(txn: Txn, asset_id: str, generation: int) -> ContentKey:
    """This generation's key, made if missing, in the caller's transaction: call it after the
    caller's reads and before its writes (a key never changes once anything is encrypted with it)."""
    snap = key_ref(key_id(asset_id, generation)).get(transaction=txn)
    if snap.exists:
        return ContentKey.model_validate(snap.to_dict())
    made = ContentKey(key_id=key_id(asset_id, generation), asset_id=asset_id, generation=generation,
                      key=base64.b64encode(os.urandom(16)).decode(), created_at=clock.now())
    txn.create(key_ref(made.key_id), made.model_dump())
    return made


def get(key_id: str) -> ContentKey | None:
    snap = key_ref(key_id).get()
    return ContentKey.model_validate(snap.to_dict()) if snap.exists else None


def encrypt(key: bytes, name: str, data: bytes) -> tuple[bytes, bytes]:
    """(IV, AES-128-CBC ciphertext of `data` with PKCS#7 padding). The IV is derived from the key
    and the object's name: unique per object, and the same in two runs of one encode, so runs that
    overlap write the same bytes and the recorded IV always fits."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = hmac.new(key, name.encode(), hashlib.sha256).digest()[:16]
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv, encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()
