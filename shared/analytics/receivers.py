"""Tracking the business events of the features that do not track their own (goals do with
`track_goals`, assets with `track_asset_events`): one receiver per signal, each an idempotent
step whose effect is the analytics event."""
from __future__ import annotations

from typing import Callable

from pydantic import BaseModel

from shared.analytics import TRACK, AnalyticsEvent
from shared.core import clock, steps
from shared.core.registry import REGISTRY, Signal


def tracker(signal: Signal, subject: Callable[[BaseModel], str], actor: Callable[[BaseModel], str | None]):
    """Register `track_{signal}`: the signal's payload as the event's properties."""
    def track(txn, fx: steps.Effects, event: BaseModel) -> None:
        fx.publish(TRACK, AnalyticsEvent(
            event_id=signal.event_id(event), event=signal.sender, subject_id=subject(event), actor_id=actor(event),
            at=clock.now(), properties=event.model_dump(mode="json", by_alias=True)))

    track.__name__ = track.__qualname__ = f"track_{signal.sender.replace('.', '_')}"
    return REGISTRY.receiver(signal)(track)


def _register() -> None:
    from shared.accounts.service import LOGGED_IN
    from shared.chats.service import CHAT_MESSAGE_SENT
    from shared.leaderboards.signals import DIAMONDS_SPENT
    from shared.livestream.signals import SESSION_ENDED, SESSION_STARTED
    from shared.posts.service import POST_CREATED, POST_UNLOCKED
    from shared.shop.signals import ORDER_CREATED, ORDER_PAID

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


_register()
