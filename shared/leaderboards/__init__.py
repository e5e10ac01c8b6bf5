"""Leaderboards: the top supporters of a session and of a streamer per day, week and all time,
from every diamond a viewer spends on that streamer (`diamonds.spent`, refunds negative)."""
