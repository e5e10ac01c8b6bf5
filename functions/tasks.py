"""The Cloud Tasks target: POST /{task_name}, signed body, routed by name through the registry."""
import json

import _bootstrap  # noqa: F401
import flask
import functions_framework

from shared import app
from shared.core import delivery, tasks

app.load()


@functions_framework.http
def task_handler(request):
    name = request.path.rstrip("/").rsplit("/", 1)[-1]
    status, body = delivery.run_task(name, request.get_data(), request.headers.get(tasks.SIGNATURE_HEADER))
    return flask.Response(json.dumps(body), status=status, mimetype="application/json")
