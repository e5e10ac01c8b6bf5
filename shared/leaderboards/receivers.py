"""Counting each spend on its boards (an idempotent step per `diamonds.spent`: its marker dedupes a
redelivery), and the live push, `leaderboard.updated` at most once per push window.

Every applied spend schedules, after its commit, the push of the next window, named by the
window: Cloud Tasks keeps one task per name, and since the local emulator does not, the push is
itself a step keyed by the window, so a window already pushed is skipped. (Scheduled from the
step's effects instead, a push could read the boards before a slow commit and then skip it.)
"""
from __future__ import annotations

import threading
import time

from shared.core import clock, steps, tasks
from shared.core.errors import AlreadyApplied
from shared.core.firestore import Txn, db
from shared.core.options import FunctionOptions, QueueOptions
from shared.core.pusher import stream_channels
from shared.core.registry import REGISTRY
from shared.leaderboards import rules, service
from shared.leaderboards.models import LeaderboardUpdated, PushArgs
from shared.ledger.spending import DIAMONDS_SPENT, DiamondsSpent

PUSHED = "leaderboard.updated"

REGISTRY.queue("leaderboards", QueueOptions(max_dispatches_per_second=200, max_concurrent_dispatches=50,
                                            max_attempts=10, min_backoff=1, max_backoff=10))
PUSH_LEADERBOARD = REGISTRY.task("push_leaderboard", queue="leaderboards", args=PushArgs)
# pushes this instance has scheduled (insertion-ordered, the oldest dropped): a hot session's many
# spends in one window make one scheduling call per instance instead of one each
_scheduled: dict[str, None] = {}
_scheduling = threading.Lock()


@REGISTRY.receiver(DIAMONDS_SPENT, step=False, options=FunctionOptions(
    memory="256Mi", cpu="1", concurrency=16, max_instances=50, secrets=("TASK_SECRET",)))
def count_diamonds_spent(event: DiamondsSpent) -> str:
    """The spend on its boards, once (the step's marker dedupes a redelivery); then, once that has
    committed, the push of the window after the commit: that push reads the boards after it."""

    def body(txn: Txn, fx: steps.Effects) -> None:
        service.check_spend(txn, event)  # the spend's own ledger transfer: no board is read
        service.apply(txn, event)

    try:
        steps.run(f"count_diamonds_spent@{DIAMONDS_SPENT.event_id(event)}", body)
        outcome = "applied"
    except AlreadyApplied:  # a redelivery: counted already; the push below is made good if it was lost
        outcome = "repeat"
    window = rules.push_window(clock.now())
    push = PushArgs(streamer_id=event.streamer_id, session_id=event.session_id, window=window)
    if push.task_key() not in _scheduled:  # else this instance asked for that window's push already
        tasks.schedule(PUSH_LEADERBOARD, push, at=rules.window_end(window))
        with _scheduling:
            _scheduled[push.task_key()] = None
            while len(_scheduled) > 1000:
                _scheduled.pop(next(iter(_scheduled)))
    return outcome


def push_key(args: PushArgs) -> str:
    return f"push_leaderboard:{args.streamer_id}:{args.session_id or '-'}:{args.window}"


def _neighbours(args: PushArgs, around: int = 4) -> tuple[float, bool]:
    """When one of the windows before this one was last pushed, and whether a later one was."""
    windows = [args.window + k for k in range(-around, around + 1) if k]
    snaps = db().get_all([steps.marker(push_key(args.model_copy(update={"window": w}))) for w in windows])
    pushed = {int(snap.id.rsplit(":", 1)[1]): snap.get("applied_at") for snap in snaps if snap.exists}
    return max((at for w, at in pushed.items() if w < args.window), default=0.0), any(w > args.window for w in pushed)


@PUSH_LEADERBOARD.handles
def push_leaderboard(args: PushArgs) -> str:
    key = push_key(args)
    if steps.stored(key) is not None:  # another spend of this window had it pushed already
        return "already pushed"
    due = rules.window_end(args.window)
    if 0 < due - clock.now() < 2:  # arrived a little early: the window's spends may still be landing
        time.sleep(due - clock.now())
    last, superseded = _neighbours(args)
    if superseded:  # a backlog: a later window was pushed already, with everything this one has
        return "superseded"
    if 0 < rules.PUSH_SECONDS - (clock.now() - last) <= rules.PUSH_SECONDS:  # late windows arriving together
        time.sleep(rules.PUSH_SECONDS - (clock.now() - last))
    tops = service.push_tops(args.streamer_id, args.session_id, max(due, clock.now()))
    event = LeaderboardUpdated(streamer_id=args.streamer_id, session_id=args.session_id, window=args.window,
                               boards=tops)

    def body(txn: Txn, fx: steps.Effects) -> None:
        fx.notify(stream_channels(args.streamer_id), PUSHED, event)

    try:
        steps.run(key, body)
    except AlreadyApplied:
        return "already pushed"
    return "pushed"
