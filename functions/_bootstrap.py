"""Puts the source root (which holds `shared/`) on sys.path: the runtime loads entry points by file."""
import pathlib
import sys

ROOT = str(pathlib.Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
