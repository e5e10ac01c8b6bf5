"""The Firestore client (imported on first use) and the transaction runner."""
from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from shared.core.config import settings
from shared.core.errors import NotFound

if TYPE_CHECKING:
    from google.cloud.firestore import Transaction as Txn
else:
    Txn = Any  # the real class would load google.cloud.firestore at import: kept for first use

T = TypeVar("T")
log = logging.getLogger(__name__)
_LOADING = threading.Lock()


def library():
    """google.cloud.firestore, imported on first use (entry points that never touch Firestore skip
    ~240 ms). shared/ takes the library from here only, through this one module: its modules import
    each other in a cycle (firestore_v1 -> query -> base_query -> firestore_v1), so threads that
    import it at once through different modules, as a new instance's first requests and receivers
    do (a client in one, a FieldFilter in another), get partly initialised modules and ImportError.
    The lock keeps the first import to one thread whatever the others are importing meanwhile."""
    with _LOADING:
        from google.cloud import firestore
    return firestore


@functools.cache
def db():
    return library().Client(project=settings().project)


def run_transaction(body: Callable[[Txn], T], rounds: int = 8) -> T:
    """Run `body(txn)` in a transaction; it is re-run on contention, so it must have no side effects.

    Firestore locks documents a transaction reads: contenders that all read then write one document
    abort each other (the emulator times the locks out). The client retries a failed commit at
    once; this also retries an aborted read, and backs off with jitter between rounds so that
    contenders fall into line instead of colliding again.
    """
    from google.api_core.exceptions import Aborted

    transactional = library().transactional(body)
    for round_ in range(rounds):
        try:
            return transactional(db().transaction(max_attempts=3))
        except (Aborted, ValueError) as exc:
            aborted = isinstance(exc, Aborted) or isinstance(exc.__cause__, Aborted)
            if not aborted or round_ == rounds - 1:
                raise
        time.sleep(random.uniform(0, 0.05 * 2 ** round_))
    raise AssertionError("unreachable")


def increment(n: int):
    return library().Increment(n)


def array_union(values: list):
    return library().ArrayUnion(values)


def array_remove(values: list):
    return library().ArrayRemove(values)


def delete_field():
    """Removes a field (a map entry, by its dotted path) in an update."""
    return library().DELETE_FIELD


def field_filter(path: str, op: str, value: Any):
    """A query filter (FieldFilter) on the field at the dotted `path`."""
    return library().FieldFilter(path, op, value)


def field_path(*names: str) -> str:
    """The dotted path of nested fields, each name quoted as it needs (a map key with dots or dashes)."""
    return library().Client.field_path(*names)


def as_model(model, snap):
    """A document as its pydantic model (or TypeAdapter of a union of models), the id as `id`."""
    data = {**snap.to_dict(), "id": snap.id}
    return model.model_validate(data) if hasattr(model, "model_validate") else model.validate_python(data)


def document(model: BaseModel) -> dict:
    """What is stored of a model: its fields by alias, the id being the document's name."""
    return model.model_dump(mode="json", by_alias=True, exclude={"id"})


def changes(before: BaseModel, after: BaseModel) -> dict:
    """The top-level fields a rule changed, as an update: saves write what changed, nothing else."""
    old, new = document(before), document(after)
    return {name: value for name, value in new.items() if old.get(name) != value or name not in old}


def each(query, model, page: int = 200):
    """Every document `query` finds, page by page, as `model`. One that does not parse (written by
    newer code during a deploy, say) is logged and passed over instead of stopping the rest."""
    from pydantic import ValidationError

    last = None
    while True:
        snaps = list((query if last is None else query.start_after(last)).limit(page).stream())
        for snap in snaps:
            try:
                yield as_model(model, snap)
            except ValidationError as exc:
                log.error("%s does not parse: %s", snap.reference.path, exc)
        if len(snaps) < page:
            return
        last = snaps[-1]


def load(ref, model, name: str, txn: Txn | None = None):
    """The document at `ref` as `model`, or a 404 naming it (e.g. name="goal": code goal_not_found)."""
    snap = ref.get(transaction=txn)
    if not snap.exists:
        raise NotFound(f"{name} {ref.id} not found", code=f"{name}_not_found")
    return as_model(model, snap)


def where(collection: str, *ranges: tuple[str, str, Any], **equals):
    """A query on equality filters, dotted field paths as `field__sub` (conditions__session_id),
    and range filters given as (field, op, value)."""
    query = db().collection(collection)
    for name, value in equals.items():
        query = query.where(filter=field_filter(name.replace("__", "."), "==", value))
    for name, op, value in ranges:
        query = query.where(filter=field_filter(name, op, value))
    return query
