"""Real-time communication (BytePlus RTC): the room snapshot tasks a private 1-on-1 pauses."""
from shared.rtc.byteplus import RtcError, start_snapshot, stop_snapshot

__all__ = ["RtcError", "start_snapshot", "stop_snapshot"]
