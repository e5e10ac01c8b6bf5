"""The meta surface: the OpenAPI document and a health check that names the service."""
from __future__ import annotations

import functools
import json
import pathlib

from shared.core import openapi as openapi_document
from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY

SERVICE = "livestream-backend"
SURFACE = REGISTRY.surface("meta", FunctionOptions(memory="256Mi", max_instances=5))
# Generated from the whole registry by shared.tools.generate (a unit test fails when it drifts).
GENERATED = pathlib.Path(__file__).resolve().parents[1] / "functions" / "openapi.json"


@functools.cache
def _generated() -> dict:
    return json.loads(GENERATED.read_text())


@REGISTRY.route("GET", "/openapi.json", surface=SURFACE, public=True, summary="This API's OpenAPI 3 document")
def openapi(call: Call) -> dict:
    # Deployed, the meta function loads only this module (shared.app.load): the registry holds its
    # own two routes, so it serves the document generated from every feature. With every feature
    # loaded (the local host, the tests) the document is built from the registry as it is now.
    return _generated() if REGISTRY.entry_point is not None else openapi_document.document(REGISTRY)


@REGISTRY.route("GET", "/healthz", surface=SURFACE, public=True, summary="Liveness, naming the service")
def healthz(call: Call) -> dict:
    return {"status": "ok", "service": SERVICE}
