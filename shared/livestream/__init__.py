"""Livestream sessions: a streamer's live show, the document goals bind to."""
