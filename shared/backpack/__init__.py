"""The backpack: items a user holds (livestream passes for now; the shop adds what it sells),
activated when the user chooses."""
