"""The Firestore client (imported on first use) and the transaction runner."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from shared.core.config import settings

T = TypeVar("T")


@functools.cache
def db():
    from google.cloud import firestore  # imported here: entry points that never touch it skip ~240 ms

    return firestore.Client(project=settings().project)


def run_transaction(body: Callable[[Any], T], max_attempts: int = 10) -> T:
    """Run `body(txn)` in a transaction; it is re-run on contention, so it must have no side effects."""
    from google.cloud import firestore

    @firestore.transactional
    def attempt(txn):
        return body(txn)

    return attempt(db().transaction(max_attempts=max_attempts))


def increment(n: int):
    from google.cloud import firestore

    return firestore.Increment(n)


def where(collection: str, **equals):
    """A query on equality filters; dotted field paths as `field__sub`, e.g. conditions__session_id."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = db().collection(collection)
    for name, value in equals.items():
        query = query.where(filter=FieldFilter(name.replace("__", "."), "==", value))
    return query
