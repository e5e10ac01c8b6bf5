"""Analytics events go to one topic (`analytics-events`), where a sink subscription picks them up."""
from __future__ import annotations

from pydantic import BaseModel

from shared.core.registry import REGISTRY


class AnalyticsEvent(BaseModel):
    event_id: str
    event: str
    subject_id: str
    at: float
    properties: dict


TRACK = REGISTRY.signal("analytics.track", AnalyticsEvent, key=lambda e: e.event_id, topic="analytics-events")
