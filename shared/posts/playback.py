"""Playing a post's media: signed URLs of its previews and encrypted outputs, the HLS playlists
(segment URIs signed on each request, the key URI pointing at the posts API), and its content
keys. Who may open them is checked by the caller (service.require_open) on every request."""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

from shared.assets import keys, storage
from shared.assets.encoder import MEDIA
from shared.core.errors import NotFound
from shared.core.http import Response
from shared.posts.models import ImageView, MediaItem, MediaView, Post

PREVIEWS = ("thumbnail", "preview", "trailer", "trailer-blurred", "SOURCE-blurred")  # never encrypted
PLAYLIST = "application/vnd.apple.mpegurl"
KEY_URI = re.compile(r'URI="key:(?P<key>[0-9a-f]{24})"')


def _signed(object_name: str, seconds: int | None = None) -> str:
    return storage.download_url(MEDIA, object_name, seconds=seconds)


def media_view(post: Post, item: MediaItem, locked: bool) -> MediaView:
    previews = {label: _signed(item.outputs[label].object_name) for label in PREVIEWS if label in item.outputs}
    view = MediaView(asset_id=item.asset_id, kind=item.kind, metadata=item.metadata, previews=previews)
    if locked:
        return view
    view.key_id = item.key_id
    if item.kind == "image":
        images = sorted((o for label, o in item.outputs.items() if label.startswith("image-")),
                        key=lambda o: -int(o.object_name.rsplit("-", 1)[-1].split(".")[0]))
        view.images = [ImageView(name=o.object_name.rsplit("/", 1)[-1], url=_signed(o.object_name), iv=o.iv)
                       for o in images]
    elif item.renditions:
        view.playlist = f"/posts/{post.id}/media/{item.asset_id}/playlist"
    return view


def _item(post: Post, asset_id: str) -> MediaItem:
    item = post.media.get(asset_id)
    if item is None or item.status != "ready" or not item.renditions:
        raise NotFound(f"post {post.id} has no playable asset {asset_id}", code="media_not_found")
    return item


def master_playlist(post: Post, asset_id: str) -> Response:
    """The renditions, best first; their URIs are relative, so the player stays on this API."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for r in sorted(_item(post, asset_id).renditions, key=lambda r: -r.bandwidth):
        lines += [f"#EXT-X-STREAM-INF:BANDWIDTH={max(r.bandwidth, 1)},RESOLUTION={r.width}x{r.height}",
                  f"renditions/{r.name}"]
    return Response(200, "\n".join(lines) + "\n", PLAYLIST, headers={"Cache-Control": "private, no-store"})


def media_playlist(post: Post, asset_id: str, name: str) -> Response:
    """The rendition's playlist as the encoder wrote it, with each segment signed for the length
    of the video (and 10 minutes more) and the key URI pointing at GET /posts/{id}/keys/{key_id}."""
    item = _item(post, asset_id)
    rendition = next((r for r in item.renditions if r.name == name), None)
    if rendition is None:
        raise NotFound(f"no rendition {name}", code="media_not_found")
    text = _signed_playlist(rendition.playlist, int((item.metadata.get("duration") or 0) + storage.DOWNLOAD_SECONDS))
    return Response(200, text, PLAYLIST, headers={"Cache-Control": "private, no-store"})


_playlists: dict[str, tuple[float, str]] = {}  # object -> (signed until, text): the same for every viewer
SIGNERS = 16  # in the cloud each signature is an IAM signBlob call: a long video's segments are signed at once


def _signed_playlist(playlist: str, seconds: int) -> str:
    """A media playlist with its segments signed, kept while more than half their life remains (the
    caller checked who may open it; what is signed is the same for everyone)."""
    now = time.time()
    kept = _playlists.get(playlist)
    if kept and kept[0] - seconds / 2 > now:
        return kept[1]
    folder = playlist.rsplit("/", 1)[0]
    lines = storage.client().bucket(storage.bucket_name(MEDIA)).blob(playlist).download_as_text().splitlines()
    segments = [i for i, line in enumerate(lines) if line and not line.startswith("#")]
    with ThreadPoolExecutor(SIGNERS) as pool:
        signed = pool.map(lambda i: _signed(f"{folder}/{lines[i]}", seconds), segments)
        for i, url in zip(segments, signed, strict=True):
            lines[i] = url
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-KEY"):  # relative to .../media/{asset}/renditions/{name}
            lines[i] = KEY_URI.sub(lambda m: f'URI="../../../keys/{m["key"]}"', line)
    text = "\n".join(lines) + "\n"
    if len(_playlists) >= 256:  # bounded: the one signed earliest goes
        del _playlists[min(_playlists, key=lambda k: _playlists[k][0])]
    _playlists[playlist] = (now + seconds, text)
    return text


def content_key(post: Post, key_id: str) -> Response:
    """The 16 bytes of a key of one of the post's ready assets, as HLS players fetch them."""
    if key_id not in {m.key_id for m in post.media.values() if m.status == "ready"}:
        raise NotFound(f"post {post.id} has no key {key_id}", code="key_not_found")
    found = keys.get(key_id)
    if found is None:
        raise NotFound(f"post {post.id} has no key {key_id}", code="key_not_found")
    return Response(200, found.secret, "application/octet-stream", headers={"Cache-Control": "private, no-store"})
