"""The meta surface: the OpenAPI document and a health check that names the service."""
from __future__ import annotations

from shared.core import openapi as openapi_document
from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY

SERVICE = "livestream-backend"
SURFACE = REGISTRY.surface("meta", FunctionOptions(memory="256Mi", max_instances=5))


@REGISTRY.route("GET", "/openapi.json", surface=SURFACE, public=True, summary="This API's OpenAPI 3 document")
def openapi(call: Call) -> dict:
    return openapi_document.document(REGISTRY)


@REGISTRY.route("GET", "/healthz", surface=SURFACE, public=True, summary="Liveness, naming the service")
def healthz(call: Call) -> dict:
    return {"status": "ok", "service": SERVICE}
