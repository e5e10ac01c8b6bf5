"""Who may do what beyond a token's scopes: watching a streamer's paid stream, subscribing to
realtime channels."""
