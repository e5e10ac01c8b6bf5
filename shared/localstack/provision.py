"""Creates topics, subscriptions, queues and buckets in the emulators from the registry.

Each receiver gets its own push subscription to the local host, with the dead-letter policy
the cloud uses; a topic nobody receives (analytics, storage events for now) gets a pull
subscription `{topic}--sink` that keeps its messages for inspection.
"""
from __future__ import annotations

import argparse
import logging

from shared import app
from shared.core import signals, tasks
from shared.core.config import settings

log = logging.getLogger(__name__)
DEAD_LETTERS = "dead-letters"
MAX_DELIVERY_ATTEMPTS = 10  # as in infra/terraform (var.max_delivery_attempts)


def subscription_path(name: str) -> str:
    return f"projects/{settings().project}/subscriptions/{name}"


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
        ensure("subscriptions", subscriber.create_subscription,
               name=subscription_path(function),
               topic=signals.topic_path(registry.signals[receiver.signal].topic),
               push_config={"push_endpoint": f"{receivers_url.rstrip('/')}/{function}"},
               ack_deadline_seconds=60,
               dead_letter_policy={"dead_letter_topic": signals.topic_path(DEAD_LETTERS),
                                   "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS})
    received = {registry.signals[r.signal].topic for r in registry.receivers.values()}
    for topic in [t for t in registry.topics if t not in received] + [DEAD_LETTERS]:
        ensure("subscriptions", subscriber.create_subscription,
               name=subscription_path(f"{topic}--sink"), topic=signals.topic_path(topic))

    client = tasks._client()
    existing = {q.name for q in client.list_queues(parent=settings().queue_parent)}
    for queue in registry.queues:
        if tasks.queue_path(queue) not in existing:
            client.create_queue(parent=settings().queue_parent, queue={"name": tasks.queue_path(queue)})
            counts["queues"] += 1

    gcs = storage.Client(project=settings().project)
    for bucket in registry.buckets:
        if gcs.lookup_bucket(bucket) is None:
            gcs.create_bucket(bucket)
            counts["buckets"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receivers-url", required=True, help="base URL of the host's /receivers mount")
    args = parser.parse_args()
    print("provisioned", provision(args.receivers_url))


if __name__ == "__main__":
    main()
