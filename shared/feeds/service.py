"""Building, swapping, reading and cleaning up feed generations; follows.

Layout (only this feature writes it):
- `feeds/{kind}`: the pointer: `current` and `previous` generation, `built_at`, `read_at` (when
  the current one's inputs were read), `dirty_at` (a receiver saw something the current one
  lacks), and `generations.{gen}` with `started_at` / `built_at` / `retired_at`, so the cleanup
  finds every generation, one whose rebuild died included.
- `feeds/{kind}/generations/{gen}`, its items in `.../items/{session or post id}`.
- `follows/{follower}_{streamer}`.

The generation rule: a generation's order never changes once written. A rebuild writes a whole
new generation and then swaps the pointer in one write; a reader's cursor names its generation,
so it keeps paging the one it started on. Receivers change an item of the current generation in
place only in what it displays (head-count, the pre-sale's progress, live) and never its rank;
an item the current generation lacks goes into the next one: the receiver marks the feed dirty
and the next tick rebuilds it. The tick deletes generations older than the previous one once
they were swapped out KEEP_SECONDS ago; their cursors get 400 `cursor_expired`.
"""
from __future__ import annotations

import logging

from shared.core import clock, ids
from shared.core.errors import field_error
from shared.core.firestore import Txn, db, delete_field, field_filter, field_path, increment, run_transaction
from shared.feeds import rules, sources
from shared.feeds.models import KINDS, FeedItem, FeedPage, Follow, FollowState

log = logging.getLogger(__name__)
FEEDS, GENERATIONS, ITEMS, FOLLOWS = "feeds", "generations", "items", "follows"
BATCH = 400  # writes per batch (Firestore allows 500)
IN_LIMIT = 30  # values of one `in` filter
MAX_FOLLOWED = 300  # followed streamers a followed-first page looks at


def pointer_ref(kind: str):
    return db().collection(FEEDS).document(kind)


def generation_ref(kind: str, gen: str):
    return pointer_ref(kind).collection(GENERATIONS).document(gen)


def item_ref(kind: str, gen: str, item_id: str):
    return generation_ref(kind, gen).collection(ITEMS).document(item_id)


def follow_ref(follower: str, streamer: str):
    return db().collection(FOLLOWS).document(f"{follower}_{streamer}")


def require_kind(kind: str) -> str:
    if kind not in KINDS:
        raise field_error(["path", "kind"], f"kind is one of {', '.join(KINDS)}")
    return kind


def pointer(kind: str, txn: Txn | None = None) -> dict:
    snap = pointer_ref(kind).get(transaction=txn)
    return (snap.to_dict() or {}) if snap.exists else {}


# --- building ---------------------------------------------------------------------------------


def rebuild(kind: str) -> str | None:
    """Write a new generation of the feed and swap it in; its id, or None when a generation read
    later was swapped in meanwhile (this one is then left to the cleanup)."""
    read_at, gen = clock.now(), ids.new_id()
    pointer_ref(kind).set({"generations": {gen: {"started_at": read_at}}}, merge=True)
    items = sources.items(kind, read_at)
    generation_ref(kind, gen).set({"kind": kind, "started_at": read_at, "size": len(items)})
    for start in range(0, len(items), BATCH):
        batch = db().batch()
        for item in items[start:start + BATCH]:
            batch.set(item_ref(kind, gen, item.id), item.model_dump(mode="json"))
        batch.commit()
    swapped = _swap(kind, gen, read_at)
    log.info("feed %s: generation %s of %d items %s", kind, gen, len(items), "swapped in" if swapped else "superseded")
    return gen if swapped else None


def _swap(kind: str, gen: str, read_at: float) -> bool:
    def body(txn: Txn) -> bool:
        kept = pointer(kind, txn)
        now = clock.now()
        if (kept.get("read_at") or 0) > read_at:  # a rebuild that read later won: do not go back
            txn.set(pointer_ref(kind), {"generations": {gen: {"retired_at": now}}}, merge=True)
            return False
        times = {gen: {"built_at": now}}
        if kept.get("current"):
            times[kept["current"]] = {"retired_at": now}
        txn.set(pointer_ref(kind), {"current": gen, "previous": kept.get("current"), "built_at": now,
                                    "read_at": read_at, "generations": times}, merge=True)
        return True

    return run_transaction(body)


def cleanup(kind: str, now: float | None = None) -> list[str]:
    """Delete the generations `rules.expired` names, items first; the ones deleted."""
    gone = rules.expired(pointer(kind), clock.now() if now is None else now)
    for gen in gone:
        # the generation's document first: a reader still on it gets cursor_expired, not a short page
        generation_ref(kind, gen).delete()
        items = generation_ref(kind, gen).collection(ITEMS)
        while refs := [snap.reference for snap in items.select([]).limit(BATCH).stream()]:
            batch = db().batch()
            for ref in refs:
                batch.delete(ref)
            batch.commit()
        pointer_ref(kind).update({field_path("generations", gen): delete_field()})
    return gone


def refresh(now: float | None = None) -> dict[str, str | None]:
    """The tick's work: rebuild each feed that is due, clean up old generations."""
    done = {}
    for kind in KINDS:
        if rules.due(pointer(kind), clock.now() if now is None else now):
            done[kind] = rebuild(kind)
        cleanup(kind)
    return done


# --- what receivers change in the current generation (inside their steps) --------------------


def update_current(txn: Txn, kind: str, item_id: str, displayed: dict) -> bool:
    """Change the displayed fields of the current generation's item (never its rank or score);
    when the current generation lacks it, mark the feed dirty so the next generation has it.
    True when the item was updated. Reads, then writes."""
    kept = pointer(kind)  # read outside the transaction: every receiver would lock the feed's one document
    current = kept.get("current")
    found = item_ref(kind, current, item_id).get(transaction=txn) if current else None
    if found is not None and found.exists:
        if displayed:
            txn.update(found.reference, displayed)
        return True
    _dirty(txn, kind, kept)
    return False


def count_gift(txn: Txn, session_id: str) -> None:
    """A blind increment: a burst of gifts does not contend on a read."""
    txn.set(sources.counter_ref(session_id), {"gifts": increment(1)}, merge=True)


def mark_dirty(txn: Txn, kind: str) -> None:
    _dirty(txn, kind, pointer(kind))


def _dirty(txn: Txn, kind: str, kept: dict) -> None:
    """Mark the feed for the tick's next rebuild. Skipped when it is marked already and no rebuild
    started since: the next one starts after this event committed, so it has it. A burst of events
    thus writes the feed's one document about once per rebuild, not once per event."""
    dirty_at = kept.get("dirty_at")
    started = max((g.get("started_at") or 0 for g in (kept.get("generations") or {}).values()), default=0)
    if dirty_at is None or dirty_at < (kept.get("read_at") or 0) or dirty_at <= started:
        txn.set(pointer_ref(kind), {"dirty_at": clock.now()}, merge=True)


# --- reading ----------------------------------------------------------------------------------


def page(kind: str, user_id: str, cursor: str | None, limit: int, followed: bool) -> FeedPage:
    """A page of the feed. Without `followed`: the generation by rank. With it: the items of the
    streamers the caller follows by rank, then everyone else's by rank (phases `f` and `r`)."""
    require_kind(kind)
    gen: str | None
    if cursor:
        gen, phase, after = rules.parse_cursor(cursor, followed)
        if not generation_ref(kind, gen).get().exists:
            raise rules.CursorExpired("this feed generation is gone: read the feed again from its first page",
                                      details={"generation": gen})
    else:
        gen, phase, after = pointer(kind).get("current"), rules.FOLLOWED if followed else rules.ALL, ""
        if gen is None:
            return FeedPage(kind=kind, generation=None, items=[], next_cursor=None)
    want, found = limit + 1, []  # one more than a page: whether there is a next page
    if phase == rules.ALL:
        found = [(rules.ALL, item) for item in _ordered(kind, gen, after, want)]
    else:
        follows = followed_streamers(user_id)
        if phase == rules.FOLLOWED:
            found = [(rules.FOLLOWED, item) for item in _ordered(kind, gen, after, want, only=follows)]
            after = ""
        if len(found) < want:
            found += [(rules.REST, item) for item in _ordered(kind, gen, after, want - len(found), skip=follows)]
    shown = found[:limit]
    next_cursor = rules.cursor(gen, shown[-1][0], shown[-1][1].rank) if len(found) > limit else None
    return FeedPage(kind=kind, generation=gen, items=[item for _, item in shown], next_cursor=next_cursor)


def _ordered(kind: str, gen: str, after: str, limit: int, only: set[str] | None = None,
             skip: set[str] | None = None) -> list[FeedItem]:
    """Up to `limit` items ranked after `after`: of the streamers `only` names, or not of those
    `skip` names (filtered as read: a feed is a few hundred items)."""
    items = generation_ref(kind, gen).collection(ITEMS)
    if only is not None:
        found: list[FeedItem] = []
        names = sorted(only)
        for start in range(0, len(names), IN_LIMIT):
            query = items.where(filter=field_filter("user_id", "in", names[start:start + IN_LIMIT])).order_by("rank")
            found += [_item(s) for s in (query.start_after({"rank": after}) if after else query).limit(limit).stream()]
        return sorted(found, key=lambda item: item.rank)[:limit]
    found, last = [], after
    while len(found) < limit:
        query = items.order_by("rank")
        snaps = list((query.start_after({"rank": last}) if last else query).limit(limit * 2).stream())
        found += [item for item in map(_item, snaps) if not skip or item.user_id not in skip]
        if len(snaps) < limit * 2:
            break
        last = snaps[-1].get("rank")
    return found[:limit]


def _item(snap) -> FeedItem:
    return FeedItem.model_validate(snap.to_dict())


def generation_items(kind: str, gen: str) -> list[FeedItem]:
    """Every item of a generation by rank (what a reader paging it sees)."""
    return [_item(s) for s in generation_ref(kind, gen).collection(ITEMS).order_by("rank").stream()]


# --- follows ----------------------------------------------------------------------------------


def follow(follower: str, streamer: str) -> FollowState:
    """Idempotent: following again answers the first follow."""
    if follower == streamer:
        raise field_error(["path", "user_id"], "you cannot follow yourself")

    def body(txn: Txn) -> Follow:
        snap = follow_ref(follower, streamer).get(transaction=txn)
        if snap.exists:
            return Follow.model_validate(snap.to_dict())
        made = Follow(follower=follower, streamer=streamer, at=clock.now())
        txn.create(follow_ref(follower, streamer), made.model_dump())
        return made

    made = run_transaction(body)
    return FollowState(streamer_id=streamer, following=True, since=made.at)


def unfollow(follower: str, streamer: str) -> FollowState:
    """Idempotent: unfollowing someone not followed changes nothing."""
    if follower == streamer:
        raise field_error(["path", "user_id"], "you cannot follow yourself")
    follow_ref(follower, streamer).delete()
    return FollowState(streamer_id=streamer, following=False)


def followed_streamers(follower: str) -> set[str]:
    query = db().collection(FOLLOWS).where(filter=field_filter("follower", "==", follower)).limit(MAX_FOLLOWED)
    return {snap.get("streamer") for snap in query.stream()}
