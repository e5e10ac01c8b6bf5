"""The feature modules whose declarations make up the registry; `load()` imports them all (in
any order: declarations are handles, imported where they are used) and checks the result."""
from __future__ import annotations

import importlib

from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY, Registry

FEATURES = (
    "shared.analytics",
    "shared.analytics.receivers",
    "shared.assets.signals",
    "shared.assets.api",
    "shared.assets.receivers",
    "shared.assets.tasks",
    "shared.assets.encoder",
    "shared.posts.api",
    "shared.posts.receivers",
    "shared.maintenance",
    "shared.livestream.api",
    "shared.livestream.sources",
    "shared.goals.api",
    "shared.goals.receivers",
    "shared.goals.exclusive_receivers",
    "shared.goals.karaoke_api",
    "shared.goals.karaoke_receivers",
    "shared.goals.tasks",
    "shared.ledger.api",
    "shared.ledger.tasks",
    "shared.gifts.api",
    "shared.accounts.api",
    "shared.backpack.api",
    "shared.access.receivers",
    "shared.realtime.api",
    "shared.realtime.receivers",
    "shared.shop.api",
    "shared.shop.receivers",
    "shared.leaderboards.api",
    "shared.leaderboards.receivers",
    "shared.feeds.api",
    "shared.feeds.receivers",
    "shared.chats.api",
    "shared.meta",
)
# The Cloud Tasks target runs every task: it checks their signatures and reschedules early ones.
REGISTRY.task_handler_options = FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=50,
                                                # escrow.refunded; RTC snapshot calls
                                                secrets=("TASK_SECRET", "PUSHER_SECRET", "RTC_SECRET_KEY"))


def load() -> Registry:
    for module in FEATURES:
        importlib.import_module(module)
    REGISTRY.check()
    return REGISTRY
