"""One Pub/Sub-triggered CloudEvent function per receiver, generated from the registry.

Each is deployed behind its own push subscription; the entry point names are the registry's
`Receiver.entry_point` (e.g. `goal_ended__notify_goal_ended`). Deployed, a function loads only its
receiver's modules and defines only its own entry point (shared.app.load, DEPLOYED_ENTRY_POINT).
"""
import _bootstrap  # noqa: F401
import functions_framework

from shared import app
from shared.core import delivery, logs
from shared.core.config import settings

logs.setup()
DEPLOYED = app.deployed_entry_point()
REGISTRY = app.load(DEPLOYED)
settings()  # on Cloud Run, a missing secret stops the start, not every request


def _entry_point(function: str):
    def receive(cloud_event):
        delivery.receive(function, cloud_event.data["message"])

    receive.__name__ = receive.__qualname__ = REGISTRY.receivers[function].entry_point
    return functions_framework.cloud_event(receive)


for _function, _receiver in REGISTRY.receivers.items():
    if DEPLOYED in (None, _receiver.entry_point):
        globals()[_receiver.entry_point] = _entry_point(_function)
