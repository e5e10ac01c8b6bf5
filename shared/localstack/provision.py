"""Creates topics, subscriptions, queues and buckets in the emulators from the registry.

Each receiver gets its own push subscription to the local host, with the dead-letter policy
its options declare; a topic nobody receives (analytics, storage events for now) gets a
pull subscription `{topic}--sink` that keeps its messages for inspection. Push endpoints carry
the stack's PUSH_TOKEN, which the host checks: in the cloud, OIDC and Cloud Run's invoker IAM
keep strangers from pushing to receivers; locally, the token does.
"""
from __future__ import annotations

import argparse
import json
import logging
import os

from shared import app
from shared.core import signals, tasks
from shared.core.config import settings
from shared.core.firestore import db
from shared.gifts import service as gifts
from shared.shop import orders as shop

log = logging.getLogger(__name__)
DEAD_LETTERS = "dead-letters"


def subscription_path(name: str) -> str:
    return f"projects/{settings().project}/subscriptions/{name}"


def push_endpoint(receivers_url: str, function: str) -> str:
    token = os.environ.get("PUSH_TOKEN", "")
    return f"{receivers_url.rstrip('/')}/{function}" + (f"?token={token}" if token else "")


def provision(receivers_url: str) -> dict[str, int]:
    from google.api_core.exceptions import AlreadyExists
    from google.cloud import pubsub_v1, storage

    registry = app.load()
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    counts = {"topics": 0, "subscriptions": 0, "queues": 0, "buckets": 0}

    def ensure(kind: str, create, **request) -> None:
        try:
            create(request=request)
            counts[kind] += 1
        except AlreadyExists:
            pass

    for topic in [*registry.topics, DEAD_LETTERS]:
        ensure("topics", publisher.create_topic, name=signals.topic_path(topic))
    for function, receiver in registry.receivers.items():
        retry = receiver.options.retry
        ensure("subscriptions", subscriber.create_subscription,
               name=subscription_path(function),
               topic=signals.topic_path(receiver.source.topic),
               push_config={"push_endpoint": push_endpoint(receivers_url, function)},
               ack_deadline_seconds=receiver.options.timeout,
               # no retry_policy: locally a failed push comes back within a second, which keeps
               # the stack quick; the cloud's backoff (terraform) only spaces the same retries out
               dead_letter_policy={"dead_letter_topic": signals.topic_path(DEAD_LETTERS),
                                   "max_delivery_attempts": retry.max_attempts})
    received = {r.source.topic for r in registry.receivers.values()}
    for topic in [t for t in registry.topics if t not in received] + [DEAD_LETTERS]:
        ensure("subscriptions", subscriber.create_subscription,
               name=subscription_path(f"{topic}--sink"), topic=signals.topic_path(topic))

    client = tasks._client()
    existing = {q.name for q in client.list_queues(parent=settings().queue_parent)}
    for queue in registry.queues:
        if tasks.queue_path(queue) not in existing:
            client.create_queue(parent=settings().queue_parent, queue={"name": tasks.queue_path(queue)})
            counts["queues"] += 1

    for item in gifts.catalog():
        db().collection(gifts.PRODUCTS).document(item.id).set(item.model_dump(exclude={"id"}))
    counts["products"] = len(gifts.catalog())

    for raw in json.loads(shop.CATALOG.read_text()):  # kept as written: a legacy product has no class
        db().collection(shop.PRODUCTS).document(raw["id"]).set({k: v for k, v in raw.items() if k != "id"})
    counts["shop_products"] = len(shop.catalog())

    gcs = storage.Client(project=settings().project)
    for bucket in registry.buckets:
        if gcs.lookup_bucket(bucket) is None:
            gcs.create_bucket(bucket)
            counts["buckets"] += 1
    return counts


def storage_events() -> str:
    """The bucket whose notifications go out and their topic (the storage emulator takes one of each)."""
    notifying = {(name, b.notify.topic) for name, b in app.load().buckets.items() if b.notify}
    if len(notifying) != 1:
        raise SystemExit(f"the storage emulator notifies of one bucket; the registry names {sorted(notifying)}")
    return " ".join(notifying.pop())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receivers-url", help="base URL of the host's /receivers mount")
    parser.add_argument("--storage-events", action="store_true", help="print the notifying bucket and its topic")
    args = parser.parse_args()
    if args.storage_events:
        print(storage_events())
    elif args.receivers_url:
        print("provisioned", provision(args.receivers_url))
    else:
        parser.error("give --receivers-url or --storage-events")


if __name__ == "__main__":
    main()
