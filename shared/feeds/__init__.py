"""Feeds: the livestream feed (live sessions) and the posts feed (published posts), ordered by
`metadata.s_score`, built in whole generations and followed streamers first (see service.py)."""
