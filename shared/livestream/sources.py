"""A streamer's RTC sources (seeds: Livestream `Sources`, e.g. a phone or OBS) and their snapshots.

The platform takes snapshots of each source's RTC room; a 1-on-1 must not be snapshotted, so
its start stops them and its end starts them again (seed 003 `snapshot_rtc_sources`). A source
keeps what its snapshots should be (`wanted`, changed inside the steps of those events) and what
the RTC provider was last told (`applied`). The task `sync_rtc_snapshot` makes the provider
match, under a claim on the source: calls reach the provider in the order the wishes changed,
a repeated task finds nothing to do, and a task that lost a race still converges.
"""
from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.core import claims, clock, firestore, ids, steps
from shared.core.errors import Busy
from shared.core.firestore import Txn, db
from shared.core.options import QueueOptions
from shared.core.registry import REGISTRY, TaskArgs
from shared.livestream import sessions
from shared.rtc import byteplus

log = logging.getLogger(__name__)
SOURCES = "rtc_sources"
SYNC_ROUNDS = 2  # provider calls per task: 2 x the client's 13 s timeout stay inside the claim's 30 s lease
State = Literal["running", "stopped"]


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    room_id: str = Field(pattern=r"^[A-Za-z0-9@._-]{1,128}$", description="the RTC room the source publishes to")
    kind: Literal["phone", "obs", "camera", "other"] = "phone"


class Snapshots(BaseModel):
    wanted: State = "running"
    applied: State | None = None  # what the provider was last told (None: nothing yet)
    task_id: str | None = None  # the provider's snapshot task last started (StartSnapshot's TaskId)
    starts: int = 0  # snapshot tasks started so far: each start takes a fresh TaskId
    changes: int = 0  # how many times `wanted` changed: names the sync tasks
    because: str | None = None  # the goal whose start or end changed it last


class Source(BaseModel):
    id: str
    session_id: str
    user_id: str
    room_id: str
    kind: str
    created_at: float
    snapshots: Snapshots = Field(default_factory=Snapshots)

    def next_task_id(self) -> str:
        """A fresh TaskId for the next StartSnapshot (whether a stopped task may be started again
        is not documented); a retried start reuses it, and the provider answers it exists."""
        return f"snapshot-{self.id}-{self.snapshots.starts + 1}"


class Sources(BaseModel):
    sources: list[Source]


class SyncArgs(TaskArgs):
    source_id: str = Field(pattern=r"^[0-9a-f]{24}$")
    change: int = Field(ge=0)

    def task_key(self) -> str:
        return f"{self.source_id}-{self.change}"


REGISTRY.queue("rtc", QueueOptions(max_dispatches_per_second=20, max_concurrent_dispatches=20))
SYNC_RTC_SNAPSHOT = REGISTRY.task("sync_rtc_snapshot", queue="rtc", args=SyncArgs)


def source_ref(source_id: str):
    return db().collection(SOURCES).document(source_id)


def load(source_id: str, txn: Txn | None = None) -> Source:
    return firestore.load(source_ref(source_id), Source, "source", txn)


def of_session(session_id: str, txn: Txn | None = None) -> list[Source]:
    query = firestore.where(SOURCES, session_id=session_id)
    return [firestore.as_model(Source, snap) for snap in query.stream(transaction=txn)]


def register(user_id: str, session_id: str, request: SourceCreate, client_key: steps.ClientKey | None = None) -> Source:
    """`POST /sessions/{id}/sources`: the streamer's source joins the session; its snapshots start."""
    sessions.load_owned(session_id, user_id)
    source = Source(id=ids.new_id(), session_id=session_id, user_id=user_id, room_id=request.room_id,
                    kind=request.kind, created_at=clock.now())

    def body(txn: Txn, fx: steps.Effects) -> Source:
        session = sessions.load_owned(session_id, user_id, txn)
        sessions.require_active(session)
        # a 1-on-1 running already (its pair has its exclusive goal) keeps the new source's snapshots off
        on = any(pair.exclusive_goal for pair in session.exclusive_goal_pairs.values())
        wanted = "stopped" if on else "running"
        registered = source.model_copy(update={"snapshots": Snapshots(wanted=wanted)})
        txn.create(source_ref(source.id), firestore.document(registered))
        fx.schedule(SYNC_RTC_SNAPSHOT, SyncArgs(source_id=source.id, change=0), at=clock.now())
        return registered

    return steps.run(f"register_source:{source.id}", body, redelivered=False, client_key=client_key)


def want_snapshots(txn: Txn, fx: steps.Effects, session_id: str, running: bool, because: str) -> int:
    """Inside a step: the session's sources' snapshots should run (or stop) now. Reads first. An
    ended session's rooms are left alone."""
    wanted: State = "running" if running else "stopped"
    if running and not sessions.load(session_id, txn).active:
        return 0
    found = of_session(session_id, txn)
    for source in found:
        change = source.snapshots.changes + 1
        txn.update(source_ref(source.id), {"snapshots.wanted": wanted, "snapshots.changes": change,
                                           "snapshots.because": because})
        fx.schedule(SYNC_RTC_SNAPSHOT, SyncArgs(source_id=source.id, change=change), at=clock.now())
    return len(found)


@SYNC_RTC_SNAPSHOT.handles
def sync_rtc_snapshot(args: SyncArgs) -> str:
    """Tell the RTC provider what the source's snapshots should be, until it matches."""
    try:
        with claims.held(f"source:{args.source_id}", wait=10):
            done = []
            for _ in range(SYNC_ROUNDS):
                source = load(args.source_id)
                wanted = source.snapshots.wanted
                if source.snapshots.applied == wanted:
                    break
                # unknown until the provider answered: a run that dies mid-call makes the next one ask again
                source_ref(source.id).update({"snapshots.applied": None})
                if wanted == "running":
                    task_id = source.next_task_id()
                    byteplus.start_snapshot(source.room_id, task_id)
                    source_ref(source.id).update({"snapshots.applied": wanted, "snapshots.task_id": task_id,
                                                  "snapshots.starts": source.snapshots.starts + 1})
                elif source.snapshots.task_id is not None:
                    byteplus.stop_snapshot(source.room_id, source.snapshots.task_id)
                    source_ref(source.id).update({"snapshots.applied": wanted})
                else:  # never started: nothing to stop
                    source_ref(source.id).update({"snapshots.applied": wanted})
                done.append(wanted)
    except claims.ClaimTimeout:
        raise Busy(f"source {args.source_id} is being synced; try again") from None
    return " then ".join(done) or "in sync"
