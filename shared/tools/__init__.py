"""Command-line tools for operators and developers, each run as `python -m shared.tools.NAME`."""
