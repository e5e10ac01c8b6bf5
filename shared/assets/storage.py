"""The assets bucket: its name, and V4 signed upload URLs bound to a content type and an exact
length. In the cloud the runtime's service account signs through IAM's signBlob (no key file);
locally a throwaway key signs for fake-gcs-server, which accepts the URL without checking it."""
from __future__ import annotations

import functools
import os
from datetime import timedelta

from shared.core.config import settings

UPLOAD_SECONDS = 900  # a signed upload URL's life


def bucket_name(name: str) -> str:
    """As terraform names it (`{project}-{name}`); the local stack provisions the bare name."""
    return name if os.environ.get("STORAGE_EMULATOR_HOST") else f"{settings().project}-{name}"


@functools.cache
def client():
    from google.cloud import storage

    return storage.Client(project=settings().project)


@functools.cache
def _local_signer():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.oauth2 import service_account

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return service_account.Credentials.from_service_account_info({
        "type": "service_account", "client_email": f"local-signer@{settings().project}.iam.gserviceaccount.com",
        "private_key": pem, "private_key_id": "local", "token_uri": "https://oauth2.googleapis.com/token"})


def _signing() -> dict:
    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    if emulator:
        return {"credentials": _local_signer(), "api_access_endpoint": emulator}
    from google.auth.transport.requests import Request

    credentials = _runtime_credentials()
    if not credentials.valid:  # refreshed once an hour, not on every request
        credentials.refresh(Request())
    return {"service_account_email": credentials.service_account_email, "access_token": credentials.token}


@functools.cache
def _runtime_credentials():
    import google.auth

    return google.auth.default()[0]


def upload_url(bucket: str, object_name: str, content_type: str, size: int) -> tuple[str, dict[str, str]]:
    """A PUT URL for exactly this object, content type and size, good for one upload (it may only
    create the object, not replace it); and the headers the PUT must send."""
    signed = {"x-goog-content-length-range": f"{size},{size}", "x-goog-if-generation-match": "0"}
    blob = client().bucket(bucket_name(bucket)).blob(object_name)
    # it adds Host to what it gets
    url = blob.generate_signed_url(version="v4", method="PUT", expiration=timedelta(seconds=UPLOAD_SECONDS),
                                   content_type=content_type, headers=dict(signed), **_signing())
    return url, {"Content-Type": content_type, **signed}


DOWNLOAD_SECONDS = 600  # a signed GET URL's life: long enough to start playing, short enough to not be shared


def download_url(bucket: str, object_name: str, generation: int | None = None, seconds: int | None = None) -> str:
    blob = client().bucket(bucket_name(bucket)).blob(object_name, generation=generation)
    life = min(seconds or DOWNLOAD_SECONDS, 7 * 24 * 3600)  # V4 signatures last at most 7 days
    return blob.generate_signed_url(version="v4", method="GET", expiration=timedelta(seconds=life), **_signing())
