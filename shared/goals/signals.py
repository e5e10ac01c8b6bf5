"""The goal signals of the seeds (sender -> topic): each goal is created, added and ended once."""
from shared.core.registry import REGISTRY
from shared.goals.models import GoalAdded, GoalCreated, GoalEnded

GOAL_CREATED = REGISTRY.signal("goal.created", GoalCreated, key=lambda e: e.goal_id)
GOAL_ADDED = REGISTRY.signal("goal.added", GoalAdded, key=lambda e: e.goal_id)
GOAL_ENDED = REGISTRY.signal("goal.ended", GoalEnded, key=lambda e: e.goal_id)
