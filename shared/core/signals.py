"""Publishing signals: one Pub/Sub topic per sender, attributes `sender` and `event_id`.

Call only after commit (steps.flush does): a transaction function never publishes.
"""
from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from shared.core import logs
from shared.core.config import settings
from shared.core.registry import REGISTRY, Signal


@functools.cache
def _publisher():
    from google.cloud import pubsub_v1  # PUBSUB_EMULATOR_HOST points it at the emulator

    return pubsub_v1.PublisherClient()


def topic_path(topic: str) -> str:
    return f"projects/{settings().project}/topics/{topic}"


def publish(signal: Signal | str, payload: BaseModel | dict) -> str:
    """Validate the payload against the signal's model, publish it and wait for the server's ack."""
    signal = REGISTRY.signals[signal] if isinstance(signal, str) else signal
    data = payload.model_dump(mode="json", by_alias=True) if isinstance(payload, BaseModel) else payload
    model = signal.payload.model_validate(data)
    body = json.dumps(model.model_dump(mode="json", by_alias=True), separators=(",", ":")).encode()
    attributes = {"sender": signal.sender}
    if trace := logs.fields().get("trace"):  # receivers log under the trace of what caused them
        attributes["trace"] = trace
    if signal.period is None:  # a clock signal's event id comes from its publish time
        attributes["event_id"] = signal.event_id(model)
    return _publisher().publish(topic_path(signal.topic), body, **attributes).result(timeout=30)


@dataclass(frozen=True)
class Message:
    sender: str
    event_id: str
    payload: object
    published_at: float | None
    trace: str | None
    message_id: str


STORAGE_SENDER = "storage.object"  # Cloud Storage's notifications, published by the bucket itself


def decode(message: dict) -> Message:
    """A Pub/Sub message as a CloudEvent or push body carries it. A Cloud Storage notification has
    no `sender` of ours: its attributes name the event (bucket, object, generation, type)."""
    attributes = message.get("attributes") or {}
    payload = json.loads(base64.b64decode(message.get("data") or b"") or b"null")
    if "sender" not in attributes and attributes.get("payloadFormat") == "JSON_API_V1" and isinstance(payload, dict):
        kind = attributes.get("eventType", "")
        payload = {**payload, "eventType": kind}
        attributes = {**attributes, "sender": STORAGE_SENDER, "event_id": (
            f"{STORAGE_SENDER}:{attributes.get('bucketId')}/{attributes.get('objectId')}"
            f"#{attributes.get('objectGeneration')}:{kind}")}
    published = message.get("publishTime") or message.get("publish_time")
    published_at = datetime.fromisoformat(published.replace("Z", "+00:00")).timestamp() if published else None
    return Message(attributes.get("sender", ""), attributes.get("event_id", ""), payload, published_at,
                   logs.trace_from_header(attributes.get("trace")),
                   str(message.get("messageId") or message.get("message_id") or ""))
