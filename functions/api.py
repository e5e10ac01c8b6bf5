"""HTTP functions, one per API surface: each serves its surface's routes from the registry."""
import _bootstrap  # noqa: F401
import functions_framework

from shared import app
from shared.core.config import settings
from shared.core import http, logs

logs.setup()
http.install_error_handlers()  # flask's own errors (a path its routing refuses) as JSON too
app.load()
settings()  # on Cloud Run, a missing secret stops the start, not every request


@functions_framework.http
def sessions_api(request):
    return http.serve(request, "sessions")


@functions_framework.http
def goals_api(request):
    return http.serve(request, "goals")


@functions_framework.http
def meta_api(request):
    return http.serve(request, "meta")
