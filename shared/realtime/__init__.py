"""Realtime notifications through the Pusher protocol (soketi locally)."""
