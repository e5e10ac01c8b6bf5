"""The live head-count of each streamer's room (seed 004: the `StreamViewer` model, distinct from
`session.viewers`, which records who paid): who is in `presence-stream@{streamer}` now, kept from
Pusher's webhooks and checked against Pusher's own list of the room's members.

Webhooks come at least once and in no set order (the sender posts each one on its own). Every
event is placed by the sender's clock and its index in its webhook (`Order`); a viewer's document
keeps the place of the last event applied, and `applies` decides, as a plain rule, whether an
event changes it, so a duplicate or a late arrival is a no-op. The streamer is not counted in
their own room.

A webhook can also be lost for good (Pusher retries for minutes, soketi not at all): a viewer
whose removal never came would be counted forever. So the maintenance tick compares each room
someone is in, every few minutes, with Pusher's list of its members, and corrects what no webhook
still deliverable could correct.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.core import clock
from shared.core.firestore import Txn, db, delete_field, field_filter, run_transaction
from shared.realtime.channels import ROOM

ROOMS, STREAM_VIEWERS = "stream_rooms", "stream_viewers"
MEMBER_ADDED, MEMBER_REMOVED = "member_added", "member_removed"
CHANNEL_OCCUPIED, CHANNEL_VACATED = "channel_occupied", "channel_vacated"
# A place this old can no longer be beaten by a webhook (they are refused after 300 s), with a
# minute's margin for the sender's clock: a check against Pusher's list may correct it
SETTLED_MS = 360_000
RECHECK_SECONDS = 300  # how often a room with someone in it is checked against Pusher's list
TOMBSTONE_SECONDS = 3600  # a viewer who left is kept this long: any late webhook still meets it

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


def applies(present: bool, order: Order, kept: tuple[Order, bool] | None, vacated_at: Order,
            sweep: bool = False) -> bool:
    """Whether an event placing a viewer in the room (`present`) or out of it at `order` changes
    what is kept for them (`kept`: the place and presence of the last event applied, if any).

    A later place wins. At the same place (a duplicate, or two events of one millisecond from
    different webhooks, their order lost) a removal wins over an arrival: better a viewer missed
    until their next event than a ghost. An arrival placed before the room's last vacancy is
    stale, as everyone left then; a vacancy's `sweep` takes out only those who arrived before it.
    """
    if present and order < vacated_at:
        return False
    if kept is None:
        return True
    kept_order, kept_present = kept
    if order != kept_order:
        return order > kept_order
    return kept_present and not present and not sweep


def corrects(present: bool, settled: Order, kept: tuple[Order, bool] | None, vacated_at: Order) -> bool:
    """Whether Pusher's list of the room's members, saying the viewer is `present` or not, corrects
    what is kept for them: only where it disagrees and no webhook still deliverable (placed after
    `settled`) speaks for them, the room's last vacancy included."""
    if kept is not None and (kept[0] >= settled or kept[1] == present):
        return False
    return not (present and settled < vacated_at)


def apply(webhook: Webhook) -> int:
    """Apply each event of a verified webhook; the number that changed something."""
    changed = 0
    for index, event in enumerate(webhook.events):
        found = ROOM.fullmatch(event.channel)
        if found is None:  # only the room's presence channel is counted
            continue
        streamer, order = found["streamer"], (webhook.time_ms, index)
        if event.name in (MEMBER_ADDED, MEMBER_REMOVED) and event.user_id and event.user_id != streamer:
            present = event.name == MEMBER_ADDED
            changed += _member(streamer, event.user_id, present, order, functools.partial(applies, present, order))
        elif event.name == CHANNEL_OCCUPIED:
            changed += _occupancy(streamer, True, order)
        elif event.name == CHANNEL_VACATED:
            changed += _occupancy(streamer, False, order)
            sweep = functools.partial(applies, False, order, sweep=True)
            changed += sum(_member(streamer, user, False, order, sweep) for user in _present_users(streamer))
    return changed


def head_count(streamer_id: str) -> int:
    """Viewers in the streamer's room now."""
    return int(_present(streamer_id).count().get()[0][0].value)


def check_room(streamer_id: str, members: set[str]) -> int:
    """Correct the room from Pusher's list of its `members` (see `corrects`); the number of
    viewers corrected. The room is checked again in RECHECK_SECONDS while anyone is in it."""
    settled = (int(clock.now() * 1000) - SETTLED_MS, 0)
    members = members - {streamer_id}
    changed = 0
    for user in (_present_users(streamer_id) - members) | members:
        present = user in members
        changed += _member(streamer_id, user, present, settled, functools.partial(corrects, present, settled))
    again = clock.now() + RECHECK_SECONDS if members or _present_users(streamer_id) else delete_field()
    _room(streamer_id).set({"check_due_at": again}, merge=True)
    return changed


def rooms_due(limit: int = 100) -> list[str]:
    """Rooms someone entered whose check against Pusher's list is due, the most overdue first."""
    query = db().collection(ROOMS).where(filter=field_filter("check_due_at", "<=", clock.now()))
    return [snap.id for snap in query.order_by("check_due_at").limit(limit).select([]).stream()]


def _room(streamer_id: str):
    return db().collection(ROOMS).document(streamer_id)


def _viewer(streamer_id: str, user_id: str):
    return _room(streamer_id).collection(STREAM_VIEWERS).document(user_id)


def _field(snap, name: str):
    return (snap.to_dict() or {}).get(name) if snap.exists else None


def _member(streamer_id: str, user_id: str, present: bool, order: Order,
            decide: Callable[[tuple[Order, bool] | None, Order], bool]) -> bool:
    """Set the viewer `present` or not at `order` if `decide(kept, vacated_at)` says so."""
    def body(txn: Txn) -> bool:
        room = _room(streamer_id).get(transaction=txn)
        viewer = _viewer(streamer_id, user_id).get(transaction=txn)
        kept_order = _field(viewer, "at")
        kept = None if kept_order is None else (tuple(kept_order), bool(_field(viewer, "present")))
        if not decide(kept, tuple(_field(room, "vacated_at") or BEFORE_ALL)):
            return False
        if present and _field(room, "check_due_at") is None:  # someone is in: check the room from now on
            txn.set(_room(streamer_id), {"check_due_at": clock.now() + RECHECK_SECONDS}, merge=True)
        txn.set(_viewer(streamer_id, user_id), {
            "user_id": user_id, "present": present, "at": list(order),
            "expire_at": None if present else datetime.fromtimestamp(clock.now() + TOMBSTONE_SECONDS, UTC)})
        return True

    return run_transaction(body)


def _occupancy(streamer_id: str, occupied: bool, order: Order) -> bool:
    """The room's own state (a re-occupation wins a tie with the vacancy); the latest vacancy's
    place also bars older arrivals (see `applies`)."""
    def body(txn: Txn) -> bool:
        room = _room(streamer_id).get(transaction=txn)
        kept = tuple(_field(room, "at") or BEFORE_ALL)
        change: dict[str, Any] = {}
        if order > kept or (order == kept and occupied and not _field(room, "occupied")):
            change.update(occupied=occupied, at=list(order))
        if not occupied and order > tuple(_field(room, "vacated_at") or BEFORE_ALL):
            change["vacated_at"] = list(order)
        if change:
            txn.set(_room(streamer_id), change, merge=True)
        return bool(change)

    return run_transaction(body)


def _present(streamer_id: str):
    return _room(streamer_id).collection(STREAM_VIEWERS).where(filter=field_filter("present", "==", True))


def _present_users(streamer_id: str) -> set[str]:
    return {snap.id for snap in _present(streamer_id).select([]).stream()}
