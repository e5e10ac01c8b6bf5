"""Chats: private messages between two users, priced by a creator in messaging diamonds, and
gifts sent in a message (outside any livestream)."""
