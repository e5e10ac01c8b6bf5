"""HTTP routes of the assets: a creator's uploads and their artifacts."""
from __future__ import annotations

from shared.assets import service
from shared.assets.models import ArtifactCreate, ArtifactUpload, Asset, AssetUpload, FileRequest
from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY

SURFACE = REGISTRY.surface("assets", FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=20,
                                                     secrets=("JWT_SECRET",)))
ASSET = REGISTRY.owner("asset", "asset_id", service.owners)
route = REGISTRY.route


@route("POST", "/assets", surface=SURFACE, scope="role:creator", body=FileRequest, response=AssetUpload, status=201,
       summary="Start an upload: the asset, and a signed PUT URL bound to its content type and exact size "
               "(images up to 20 MB, videos up to 2 GB), valid 15 minutes")
def create_asset(call: Call) -> AssetUpload:
    return service.create(call.caller.user_id, call.body)


@route("POST", "/assets/{asset_id}/artifacts", surface=SURFACE, scope="role:creator", owner=ASSET, body=ArtifactCreate,
       response=ArtifactUpload, status=201,
       summary="Add an artifact (thumbnail, trailer, aup) to your asset: it and its signed upload URL")
def create_artifact(call: Call) -> ArtifactUpload:
    return service.add_artifact(call.params["asset_id"], call.body)


@route("GET", "/assets/{asset_id}", surface=SURFACE, owner=ASSET, response=Asset,
       summary="Your asset: its status, what was uploaded (size, content type, checksums), its artifacts")
def get_asset(call: Call) -> Asset:
    return service.get(call.params["asset_id"])
