"""Tracking: one receiver per tracked signal, each an idempotent step whose effect is the
analytics event. This is the only place that publishes `analytics.track`: features publish their
business signals and know nothing of analytics."""
from __future__ import annotations

from collections.abc import Callable

from shared.accounts.service import LOGGED_IN
from shared.analytics import TRACK, AnalyticsEvent
from shared.assets.models import AssetCreated
from shared.assets.signals import ASSET_CREATED
from shared.chats.service import CHAT_MESSAGE_SENT
from shared.core import clock, steps
from shared.core.firestore import Txn
from shared.core.registry import REGISTRY, P, Signal
from shared.goals import service as goals
from shared.goals.signals import GOAL_CREATED, GOAL_ENDED
from shared.ledger.spending import DIAMONDS_SPENT
from shared.livestream.signals import SESSION_ENDED, SESSION_STARTED
from shared.posts.service import POST_CREATED, POST_UNLOCKED
from shared.shop.signals import ORDER_CREATED, ORDER_PAID


def tracker(signal: Signal[P], subject: Callable[[P], str], actor: Callable[[P], str | None]):
    """Register `track_{signal}`: the signal's payload as the event's properties; `subject` and
    `actor` read that payload's fields."""
    def track(txn: Txn, fx: steps.Effects, event: P) -> None:
        fx.publish(TRACK, AnalyticsEvent(
            event_id=signal.event_id(event), event=signal.sender, subject_id=subject(event), actor_id=actor(event),
            at=clock.now(), properties=event.model_dump(mode="json", by_alias=True)))

    track.__name__ = track.__qualname__ = f"track_{signal.sender.replace('.', '_')}"
    return REGISTRY.receiver(signal)(track)


tracker(ORDER_CREATED, lambda e: e.order_id, lambda e: e.user_id)
tracker(ORDER_PAID, lambda e: e.order_id, lambda e: e.user_id)
tracker(SESSION_STARTED, lambda e: e.session_id, lambda e: e.streamer_id)
tracker(SESSION_ENDED, lambda e: e.session_id, lambda e: e.streamer_id)
tracker(POST_CREATED, lambda e: e.post_id, lambda e: e.user_id)
tracker(LOGGED_IN, lambda e: e.user_id, lambda e: e.user_id)
tracker(POST_UNLOCKED, lambda e: e.post_id, lambda e: e.viewer_id)
# every diamond spent on a streamer (gifts, tickets, paid minutes, 1-on-1, unlocks), and refunds
tracker(DIAMONDS_SPENT, lambda e: e.streamer_id, lambda e: e.supporter_id)
tracker(CHAT_MESSAGE_SENT, lambda e: e.chat_id, lambda e: e.sender_id)


def _goal_tracker(signal: Signal, ended: bool):
    """A goal's creation and end, with the goal as stored (a message only says which goal)."""
    def track_goals(txn: Txn, fx: steps.Effects, event) -> None:
        goal = goals.ended(event.goal_id, txn) if ended else goals.load(event.goal_id, txn)
        fx.publish(TRACK, AnalyticsEvent(
            event_id=f"{signal.sender}:{goal.id}", event=signal.sender, subject_id=goal.id, actor_id=goal.owner,
            at=clock.now(),
            properties=(goal.ended_event() if ended else goal.created_event()).model_dump(mode="json", by_alias=True),
        ))

    return REGISTRY.receiver(signal)(track_goals)


_goal_tracker(GOAL_CREATED, ended=False)
_goal_tracker(GOAL_ENDED, ended=True)


@REGISTRY.receiver(ASSET_CREATED)
def track_asset_events(txn: Txn, fx: steps.Effects, event: AssetCreated) -> None:
    fx.publish(TRACK, AnalyticsEvent(event_id=f"asset.created:{event.asset_id}", event="asset.created",
                                     subject_id=event.asset_id, actor_id=event.user_id, at=clock.now(),
                                     properties=event.model_dump()))
