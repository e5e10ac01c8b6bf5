"""Core: config, ids, clock, errors, auth, registry and the adapters to Google services."""
