"""The feature modules whose declarations make up the registry; `load()` imports them all,
signals before the receivers that listen to them."""
from __future__ import annotations

import importlib

from shared.core.registry import REGISTRY, Registry

FEATURES = (
    "shared.analytics",
    "shared.assets",
    "shared.maintenance",
    "shared.livestream.api",
    "shared.goals.signals",
    "shared.goals.api",
    "shared.goals.receivers",
    "shared.goals.tasks",
    "shared.meta",
)


def load() -> Registry:
    for module in FEATURES:
        importlib.import_module(module)
    return REGISTRY
