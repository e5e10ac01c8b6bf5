"""The seeds' `invalidate_cached_pusher_channel_data` on `goal.added` and `goal.ended`: a goal
opening or ending in a session may change who may watch it (a pre-sale's tickets, a 1-on-1's
window), so every cached answer of that session is dropped. Idempotent by nature: dropping twice
leaves the cache as dropping once."""
from __future__ import annotations

from shared import access_cache as cache
from shared.core.firestore import run_transaction
from shared.core.registry import REGISTRY
from shared.goals import service as goals
from shared.goals.signals import GOAL_ADDED, GOAL_ENDED


def _drop_session_answers(session_id: str) -> None:
    run_transaction(lambda txn: cache.invalidate_get_session_token_view_cache(txn, session_id))


def _receiver(signal, session_of):
    def invalidate_cached_pusher_channel_data(event) -> None:
        _drop_session_answers(session_of(event))

    return REGISTRY.receiver(signal, step=False)(invalidate_cached_pusher_channel_data)


_receiver(GOAL_ADDED, lambda event: event.session_id)
_receiver(GOAL_ENDED, lambda event: goals.load(event.goal_id).session_id)
