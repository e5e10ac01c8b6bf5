"""What a feed is built from, read through the owning features' named functions and constants:
live sessions (shared/livestream) with their open pre-sale (shared/goals), head-count
(shared/realtime) and gifts (counted here from `diamonds.spent`), published posts (shared/posts)
with their unlocks. Only reads."""
from __future__ import annotations

import logging

from shared.core import firestore
from shared.core.firestore import db, field_filter
from shared.feeds import rules
from shared.feeds.models import LIVESTREAM, POSTS, FeedItem
from shared.goals import service as goals
from shared.goals.models import ShowFundingGoal
from shared.livestream import sessions
from shared.livestream.models import Session
from shared.posts import service as posts
from shared.posts.models import Post
from shared.realtime import headcount

log = logging.getLogger(__name__)
MAX_ITEMS = 300  # the newest live sessions and posts a generation holds
COUNTERS = "feed_counters"  # per session, what no other feature counts: its gifts (service.count_gift)


def counter_ref(session_id: str):
    return db().collection(COUNTERS).document(session_id)


def gifts_in(session_id: str) -> int:
    snap = counter_ref(session_id).get()
    return int(snap.get("gifts") or 0) if snap.exists else 0


def open_pre_sale(session: Session) -> tuple[ShowFundingGoal | None, int]:
    """The session's pre-sale still selling (if any), and its tickets sold."""
    for pair in reversed(session.show_goal_pairs):
        if pair.funding_ended is None:
            goal = goals.load(pair.funding_goal)
            if isinstance(goal, ShowFundingGoal) and goal.active:
                return goal, goals.tickets_sold(goal.id)
    return None, 0


def goal_fields(goal: ShowFundingGoal | None, progress: int) -> dict:
    if goal is None:
        return {"funding_goal_id": None, "progress": None, "target": None}
    return {"funding_goal_id": goal.id, "progress": progress, "target": max(level.target for level in goal.levels)}


def session_item(session: Session, now: float) -> FeedItem:
    goal, progress = open_pre_sale(session)
    tickets = sum(goals.tickets_sold(pair.funding_goal) for pair in session.show_goal_pairs)
    viewers = headcount.head_count(session.user_id)
    meta = rules.metadata(LIVESTREAM, age=now - session.statuses.created, tickets=tickets, viewers=viewers,
                          gifts=gifts_in(session.id))
    return FeedItem(id=session.id, kind=LIVESTREAM, user_id=session.user_id, rank="", metadata=meta,
                    title=session.title, live=True, head_count=viewers, **goal_fields(goal, progress))


def post_item(post: Post, now: float) -> FeedItem:
    unlocks = int(posts.post_ref(post.id).collection(posts.UNLOCKS).count().get()[0][0].value)
    meta = rules.metadata(POSTS, age=now - post.nbf, unlocks=unlocks)
    return FeedItem(id=post.id, kind=POSTS, user_id=post.user_id, rank="", metadata=meta, caption=post.caption.text,
                    pricing=post.pricing.kind, nbf=post.nbf)


def live_sessions() -> list[Session]:
    query = firestore.where(sessions.SESSIONS, active=True)
    found = list(firestore.each(query, Session))
    return sorted(found, key=lambda s: -s.statuses.created)[:MAX_ITEMS]


def published_posts(now: float) -> list[Post]:
    query = (db().collection(posts.POSTS).where(filter=field_filter("status", "==", "ready"))
             .where(filter=field_filter("nbf", "<=", now)).order_by("nbf", direction="DESCENDING").limit(MAX_ITEMS))
    found = []
    for snap in query.stream():
        try:
            found.append(firestore.as_model(Post, snap))
        except ValueError as exc:  # written by newer code: passed over, as firestore.each does
            log.error("%s does not parse: %s", snap.reference.path, exc)
    return found


def items(kind: str, now: float) -> list[FeedItem]:
    """A generation's items, scored and ranked."""
    if kind == LIVESTREAM:
        return rules.ranked([session_item(s, now) for s in live_sessions()])
    return rules.ranked([post_item(p, now) for p in published_posts(now)])
