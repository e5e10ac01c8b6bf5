"""HTTP functions, one per API surface (`{surface}_api`), generated from the registry: each serves
its surface's routes. Deployed, a function loads only its own surface's modules and defines only
its own entry point (shared.app.load, DEPLOYED_ENTRY_POINT); locally every surface is here."""
import _bootstrap  # noqa: F401
import functions_framework

from shared import app
from shared.core import http, logs
from shared.core.config import settings

logs.setup()
http.install_error_handlers()  # flask's own errors (a path its routing refuses) as JSON too
DEPLOYED = app.deployed_entry_point()
REGISTRY = app.load(DEPLOYED)
settings()  # on Cloud Run, a missing secret stops the start, not every request


def _entry_point(surface: str):
    def serve(request):
        return http.serve(request, surface)

    serve.__name__ = serve.__qualname__ = f"{surface}_api"
    return functions_framework.http(serve)


for _surface in REGISTRY.surfaces:
    if DEPLOYED in (None, f"{_surface}_api"):
        globals()[f"{_surface}_api"] = _entry_point(_surface)
