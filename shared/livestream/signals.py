"""The session signals: a session ends once."""
from shared.core.registry import REGISTRY
from shared.livestream.models import SessionEnded

SESSION_ENDED = REGISTRY.signal("session.ended", SessionEnded, key=lambda e: e.session_id)
