"""Uploaded media: assets with their artifacts, probed and encoded (declarations in `signals.py`)."""
