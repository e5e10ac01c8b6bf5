"""HTTP routes of the posts: creating, reading, a creator's list, unlocking, and playing: HLS
playlists and content keys, checked on every request."""
from __future__ import annotations

from shared.core.http import Call, Response
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.posts import playback, service
from shared.posts.models import PageQuery, Post, PostCreate, PostPage, PostView, Unlock, UnlockRequest

SURFACE = REGISTRY.surface("posts", FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=50,
                                                    secrets=("JWT_SECRET",)))
route = REGISTRY.route


@route("POST", "/posts", surface=SURFACE, scope="role:creator", body=PostCreate, response=Post, status=201,
       summary="Post your uploaded assets, free or paid (nbf: publish later); ready once its assets are claimed")
def create_post(call: Call) -> Post:
    return service.create(call.caller.user_id, call.body)


@route("GET", "/posts/{post_id}", surface=SURFACE, response=PostView,
       summary="A post as you may see it: locked (caption, price, thumbnail) or, unlocked or yours, with its media")
def get_post(call: Call) -> PostView:
    return service.view(service.load_post(call.params["post_id"]), call.caller.user_id)


@route("GET", "/users/{user_id}/posts", surface=SURFACE, query=PageQuery, response=PostPage,
       summary="A creator's published posts, newest first; pass next_cursor as cursor for more")
def user_posts(call: Call) -> PostPage:
    return service.of_user(call.params["user_id"], call.caller.user_id, call.query.cursor, call.query.limit)


@route("POST", "/posts/{post_id}/unlock", surface=SURFACE, body=UnlockRequest, response=Unlock, status=201,
       idempotent=True, summary="Unlock a paid post once with one of its costs: diamonds, messaging diamonds, points "
                                "or rainbow diamonds to the creator less the platform's share, or a voucher from your "
                                "backpack; asked again, the same unlock")
def unlock_post(call: Call) -> Unlock:
    return service.unlock(call.caller.user_id, call.params["post_id"], call.body, call.client_key)


@route("GET", "/posts/{post_id}/media/{asset_id}/playlist", surface=SURFACE, errors=(403,),
       summary="HLS master playlist of a video (creator or unlocked only): application/vnd.apple.mpegurl")
def master_playlist(call: Call) -> Response:
    post = _opened(call)
    return playback.master_playlist(post, call.params["asset_id"])


@route("GET", "/posts/{post_id}/media/{asset_id}/renditions/{name}", surface=SURFACE, errors=(403,),
       params={"name": r"source|[0-9]{3,4}p"},
       summary="HLS media playlist of one rendition: segments signed, the key at /posts/{id}/keys/{key_id}")
def media_playlist(call: Call) -> Response:
    post = _opened(call)
    return playback.media_playlist(post, call.params["asset_id"], call.params["name"])


@route("GET", "/posts/{post_id}/keys/{key_id}", surface=SURFACE, errors=(403,),
       summary="A content key (16 bytes, application/octet-stream): for the creator and viewers who unlocked")
def content_key(call: Call) -> Response:
    post = _opened(call)
    return playback.content_key(post, call.params["key_id"])


def _opened(call: Call):
    post = service.load_post(call.params["post_id"])
    service.require_open(post, call.caller.user_id)
    return post
