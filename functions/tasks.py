"""The Cloud Tasks targets: POST /{task_name}, signed body, routed by name through the registry.

`task_handler` runs every task not given a worker; each worker (REGISTRY.worker, e.g. the media
encoder) is its own function, sized for its tasks, with the entry point named after it. Deployed, a
function loads only the modules of its own tasks' handlers (shared.app.load, DEPLOYED_ENTRY_POINT).
"""
import _bootstrap  # noqa: F401
import functions_framework

from shared import app
from shared.core import delivery, http, logs, tasks
from shared.core.config import settings
from shared.core.registry import TASK_HANDLER, task_entry_point

logs.setup()
http.install_error_handlers()  # flask's own errors (a path its routing refuses, a crash) as JSON too
DEPLOYED = app.deployed_entry_point()
REGISTRY = app.load(DEPLOYED)
settings()  # on Cloud Run, a missing secret stops the start, not every request


def _run(request, function: str):
    name = request.path.rstrip("/").rsplit("/", 1)[-1]
    task = REGISTRY.tasks.get(name)
    if task is not None and task.function != function:  # another function's: refused (and retried) here
        return http.json_response(404, {"error": {"code": "not_found",
                                                  "message": f"task {name} runs in {task.function}",
                                                  "details": None}})
    return http.json_response(*delivery.run_task(name, request.get_data(), request.headers.get(tasks.SIGNATURE_HEADER),
                                                 request.headers.get(tasks.TRACE_HEADER)))


@functions_framework.http
def task_handler(request):
    return _run(request, TASK_HANDLER)


def _worker(worker: str):
    def run(request):
        return _run(request, worker)

    run.__name__ = run.__qualname__ = task_entry_point(worker)
    return functions_framework.http(run)


for _name in REGISTRY.worker_options:
    if DEPLOYED in (None, task_entry_point(_name)):
        globals()[task_entry_point(_name)] = _worker(_name)
