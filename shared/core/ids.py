"""24-hex ObjectId-style ids: 4 bytes of seconds, 5 random bytes, a 3-byte counter."""
from __future__ import annotations

import itertools
import os
import re
import threading
import time

_OBJECT_ID = re.compile(r"[0-9a-f]{24}")
_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_lock = threading.Lock()
_process_random = os.urandom(5)


def new_id() -> str:
    with _lock:
        count = next(_counter) & 0xFFFFFF
    return (int(time.time()).to_bytes(4, "big") + _process_random + count.to_bytes(3, "big")).hex()


def is_object_id(value: object) -> bool:
    # fullmatch: "$" would let a trailing newline in
    return isinstance(value, str) and bool(_OBJECT_ID.fullmatch(value))
