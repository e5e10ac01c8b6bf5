"""The live head-count of each streamer's room (seed 004: the `StreamViewer` model, distinct from
`session.viewers`, which records who paid): who is in `presence-stream@{streamer}` now, kept from
Pusher's webhooks.

Webhooks come at least once and in no set order (the sender posts each one on its own). Every
event is placed by the sender's clock and its index in its batch (`Order`); a viewer's document
keeps the place of the last event it applied, and an event placed at or before it changes nothing,
so a duplicate or a late arrival is a no-op. `channel_vacated` empties the room as of its place:
viewers added before it leave, and a late `member_added` placed before it is ignored. The streamer
is not counted in their own room.
"""
from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel, Field

from shared.core import clock
from shared.core.firestore import db, run_transaction
from shared.realtime.channels import ROOM

ROOMS, STREAM_VIEWERS = "stream_rooms", "stream_viewers"
# Far past the webhooks' freshness window (300 s): a late event still finds the viewer's last place
TOMBSTONE_SECONDS = 3600
MEMBER_ADDED, MEMBER_REMOVED = "member_added", "member_removed"
CHANNEL_OCCUPIED, CHANNEL_VACATED = "channel_occupied", "channel_vacated"

Order = tuple[int, int]  # (the sender's time_ms, the event's index in its webhook)
BEFORE_ALL: Order = (0, 0)


class WebhookEvent(BaseModel):
    name: str = Field(max_length=64)
    channel: str = Field(max_length=200)
    user_id: str | None = Field(default=None, max_length=200)


class Webhook(BaseModel):
    """Pusher's webhook body: {"time_ms", "events": [{"name", "channel"[, "user_id"]}]}."""

    time_ms: int = Field(gt=0)
    events: list[WebhookEvent] = Field(max_length=1000)


class StreamViewer(BaseModel):
    user_id: str
    present: bool
    at: list[int] = Field(description="the place (time_ms, index) of the last event applied")


def _room(streamer_id: str):
    return db().collection(ROOMS).document(streamer_id)


def _viewer(streamer_id: str, user_id: str):
    return _room(streamer_id).collection(STREAM_VIEWERS).document(user_id)


def _place(snap, field: str) -> Order:
    value = (snap.to_dict() or {}).get(field) if snap.exists else None
    return tuple(value) if value else BEFORE_ALL


def apply(webhook: Webhook) -> int:
    """Apply each event of a verified webhook; the number that changed something."""
    changed = 0
    for index, event in enumerate(webhook.events):
        found = ROOM.fullmatch(event.channel)
        if found is None:  # only the room's presence channel is counted
            continue
        streamer, order = found["streamer"], (webhook.time_ms, index)
        if event.name in (MEMBER_ADDED, MEMBER_REMOVED) and event.user_id and event.user_id != streamer:
            changed += _member(streamer, event.user_id, event.name == MEMBER_ADDED, order)
        elif event.name == CHANNEL_OCCUPIED:
            changed += _occupancy(streamer, True, order)
        elif event.name == CHANNEL_VACATED:
            changed += _occupancy(streamer, False, order)
            changed += _empty(streamer, order)
    return changed


def _member(streamer_id: str, user_id: str, present: bool, order: Order) -> bool:
    def body(txn) -> bool:
        room = _room(streamer_id).get(transaction=txn)
        viewer = _viewer(streamer_id, user_id).get(transaction=txn)
        if order <= _place(viewer, "at") or (present and order <= _place(room, "vacated_at")):
            return False
        txn.set(_viewer(streamer_id, user_id), {
            "user_id": user_id, "present": present, "at": list(order),
            "expire_at": None if present else datetime.fromtimestamp(clock.now() + TOMBSTONE_SECONDS, timezone.utc)})
        return True

    return run_transaction(body)


def _occupancy(streamer_id: str, occupied: bool, order: Order) -> bool:
    """The room's own state; the latest vacancy's place also bars older arrivals (see `_member`)."""
    def body(txn) -> bool:
        room = _room(streamer_id).get(transaction=txn)
        change = {}
        if order > _place(room, "at"):
            change.update(occupied=occupied, at=list(order))
        if not occupied and order > _place(room, "vacated_at"):
            change["vacated_at"] = list(order)
        if change:
            txn.set(_room(streamer_id), change, merge=True)
        return bool(change)

    return run_transaction(body)


def _empty(streamer_id: str, order: Order) -> int:
    """Everyone still counted when the room emptied leaves. Run on every delivery of the vacancy:
    a delivery that failed half-way is finished by the next."""
    return sum(_member(streamer_id, snap.id, False, order) for snap in _present(streamer_id).stream())


def head_count(streamer_id: str) -> int:
    """Viewers in the streamer's room now."""
    return int(_present(streamer_id).count().get()[0][0].value)


def _present(streamer_id: str):
    from google.cloud.firestore_v1.base_query import FieldFilter

    return _room(streamer_id).collection(STREAM_VIEWERS).where(filter=FieldFilter("present", "==", True))
