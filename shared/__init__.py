"""Domain library of the livestream monetization backend."""
