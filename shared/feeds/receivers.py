"""Receivers that keep the current feed generations up to date, each one idempotent step, and
the tick that rebuilds them (service.py states the generation rule they follow):

- `goal.added` -> `generate_livestream_feed` (seed 000): the session's item shows its pre-sale.
- `session.started` -> the livestream feed is marked dirty (the session joins the next generation).
- `session.ended` -> the session's item shows it ended; the next generation drops it.
- `post.ready` -> the posts feed is marked dirty.
- `diamonds.spent` in a session -> `count_session_spend`: a gift is counted for the session's
  score (the feed is marked dirty: the next generation has it); a ticket sold shows at once as the
  item's pre-sale progress.
Head-counts reach the feed with the tick's rebuild (at least every rules.REFRESH_SECONDS).
"""
from __future__ import annotations

import logging

from shared.core.errors import Conflict
from shared.core.firestore import Txn
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.core.steps import Effects
from shared.feeds import service, sources
from shared.feeds.models import LIVESTREAM, POSTS
from shared.goals import service as goals
from shared.goals.models import SHOW_FUNDING, GoalAdded, ShowFundingGoal
from shared.goals.signals import GOAL_ADDED
from shared.ledger.spending import DIAMONDS_SPENT, DiamondsSpent
from shared.livestream import sessions
from shared.livestream.models import SessionEnded, SessionStarted
from shared.livestream.signals import SESSION_ENDED, SESSION_STARTED
from shared.maintenance import TICK, Tick
from shared.posts.service import POST_READY, PostCreated

log = logging.getLogger(__name__)
BUILDER = FunctionOptions(memory="512Mi", cpu="0.333", timeout=300, max_instances=1)


@REGISTRY.receiver(TICK, step=False, options=BUILDER)
def rebuild_feeds(tick: Tick) -> str:
    """Idempotent by nature: a rebuild writes a new generation of the same inputs, and a feed
    rebuilt moments ago is not due (rules.due)."""
    return f"rebuilt {service.refresh()}"


@REGISTRY.receiver(GOAL_ADDED, applies=lambda event: event.cls == SHOW_FUNDING)
def generate_livestream_feed(txn: Txn, fx: Effects, event: GoalAdded) -> None:
    goal = goals.load(event.goal_id)  # read outside the transaction: the feed does not write it
    if not isinstance(goal, ShowFundingGoal) or (goal.session_id, goal.owner) != (event.session_id, event.streamer_id):
        raise Conflict(f"goal {event.goal_id} is not a pre-sale of session {event.session_id}",
                       code="goal_not_in_session")
    shown = sources.goal_fields(goal, goals.tickets_sold(goal.id)) if goal.active else {}
    service.update_current(txn, LIVESTREAM, event.session_id, shown)


@REGISTRY.receiver(SESSION_STARTED)
def add_session_to_feed(txn: Txn, fx: Effects, event: SessionStarted) -> None:
    sessions.load(event.session_id)  # a session that does not exist: 404, dropped
    service.mark_dirty(txn, LIVESTREAM)


@REGISTRY.receiver(SESSION_ENDED)
def end_session_in_feed(txn: Txn, fx: Effects, event: SessionEnded) -> None:
    if sessions.load(event.session_id, txn).active:  # session.ended is only published once it ended
        raise Conflict(f"session {event.session_id} has not ended", code="session_active")
    if service.update_current(txn, LIVESTREAM, event.session_id, {"live": False, "head_count": 0}):
        service.mark_dirty(txn, LIVESTREAM)


@REGISTRY.receiver(POST_READY)
def add_post_to_feed(txn: Txn, fx: Effects, event: PostCreated) -> None:
    service.mark_dirty(txn, POSTS)


@REGISTRY.receiver(DIAMONDS_SPENT, applies=lambda e: e.session_id is not None and e.amount > 0
                   and e.kind in ("gift", "ticket"))
def count_session_spend(txn: Txn, fx: Effects, event: DiamondsSpent) -> None:
    """Either changes the session's score: the feed is marked dirty, the next generation has it."""
    session_id = event.session_id
    assert session_id is not None  # applies= lets only a session's spends through
    if event.kind == "ticket":  # its pre-sale's progress shows at once, in the generation being read
        goal, progress = sources.open_pre_sale(sessions.load(session_id))  # read outside the transaction
        shown = sources.goal_fields(goal, progress) if goal is not None else {}
        if not service.update_current(txn, LIVESTREAM, session_id, shown):
            return  # not in the current generation: update_current marked the feed dirty
    else:
        service.count_gift(txn, session_id)
    service.mark_dirty(txn, LIVESTREAM)
