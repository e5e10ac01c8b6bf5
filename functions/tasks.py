"""The Cloud Tasks target: POST /{task_name}, signed body, routed by name through the registry."""
import _bootstrap  # noqa: F401
import functions_framework

from shared import app
from shared.core.config import settings
from shared.core import delivery, http, logs, tasks

logs.setup()
http.install_error_handlers()  # flask's own errors (a path its routing refuses, a crash) as JSON too
app.load()
settings()  # on Cloud Run, a missing secret stops the start, not every request


@functions_framework.http
def task_handler(request):
    name = request.path.rstrip("/").rsplit("/", 1)[-1]
    return http.json_response(*delivery.run_task(name, request.get_data(), request.headers.get(tasks.SIGNATURE_HEADER),
                                                 request.headers.get(tasks.TRACE_HEADER)))
