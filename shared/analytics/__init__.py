"""Analytics events go to one topic (`analytics-events`): in the cloud a BigQuery subscription
writes each to the `analytics.events` table (infra/terraform/analytics.tf); locally
`python -m shared.tools.analytics_tail` prints them as they come.

One schema for every feature: `event_id` names the business event (`{signal}:{business key}`), so
it is the same however often the event is delivered; `event` its name; `subject_id` what it is
about (a goal, an order, a post...); `actor_id` who did it, when someone did; `at`; `properties`.
Each is published as an effect of the step that receives the business event: once per event, and
again only if that step's first run died before sending it."""
from __future__ import annotations

from pydantic import BaseModel

from shared.core.registry import REGISTRY


class AnalyticsEvent(BaseModel):
    event_id: str
    event: str
    subject_id: str
    actor_id: str | None = None
    at: float
    properties: dict


TRACK = REGISTRY.signal("analytics.track", AnalyticsEvent, key=lambda e: e.event_id, topic="analytics-events")
