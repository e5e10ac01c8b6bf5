"""Publishing signals: one Pub/Sub topic per sender, attributes `sender` and `event_id`.

Call only after commit (steps.flush does): a transaction function never publishes.
"""
from __future__ import annotations

import functools
import json

from shared.core.config import settings
from shared.core.registry import REGISTRY


@functools.cache
def _publisher():
    from google.cloud import pubsub_v1  # PUBSUB_EMULATOR_HOST points it at the emulator

    return pubsub_v1.PublisherClient()


def topic_path(topic: str) -> str:
    return f"projects/{settings().project}/topics/{topic}"


def publish(sender: str, payload: dict) -> str:
    """Validate the payload against the signal's model, publish it and wait for the server's ack."""
    signal = REGISTRY.signals[sender]
    model = signal.payload.model_validate(payload)
    data = json.dumps(model.model_dump(mode="json", by_alias=True), separators=(",", ":")).encode()
    future = _publisher().publish(
        topic_path(signal.topic), data, sender=sender, event_id=signal.event_id(model)
    )
    return future.result(timeout=30)


def decode(message: dict) -> tuple[str, str, dict]:
    """(sender, event_id, payload) from a Pub/Sub message as a CloudEvent or push body carries it."""
    import base64

    attributes = message.get("attributes") or {}
    payload = json.loads(base64.b64decode(message.get("data") or b"") or b"null")
    return attributes.get("sender", ""), attributes.get("event_id", ""), payload
