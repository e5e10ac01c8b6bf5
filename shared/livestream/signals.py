"""The session signals: a session starts once and ends once."""
from shared.core.registry import REGISTRY
from shared.livestream.models import SessionEnded, SessionStarted

SESSION_ENDED = REGISTRY.signal("session.ended", SessionEnded, key=lambda e: e.session_id)
SESSION_STARTED = REGISTRY.signal("session.started", SessionStarted, key=lambda e: e.session_id)
