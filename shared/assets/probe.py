"""What an uploaded file really is, read with PyAV (FFmpeg's demuxers) from the bucket without
downloading it whole: container, duration, the video and audio streams. A file that cannot be read,
or is not what its content type says, gets a readable reason instead."""
from __future__ import annotations

IMAGE_CODECS = {"image/jpeg": "mjpeg", "image/png": "png", "image/webp": "webp"}


class Unreadable(Exception):
    """The file is corrupt, truncated, or not what its content type says."""


def probe(stream) -> dict:
    import av

    try:
        with av.open(stream) as container:
            meta = {"format": container.format.name,
                    "duration": container.duration / 1_000_000 if container.duration else None}
            for s in container.streams:
                codec = s.codec_context
                if s.type == "video" and "video" not in meta:
                    meta["video"] = {"codec": codec.name, "width": codec.width, "height": codec.height,
                                     "frame_rate": float(s.average_rate) if s.average_rate else None}
                elif s.type == "audio" and "audio" not in meta:
                    meta["audio"] = {"codec": codec.name, "sample_rate": codec.sample_rate, "channels": codec.channels}
    except (av.FFmpegError, ValueError) as trouble:  # I/O errors go up: the task retries them
        raise Unreadable(f"not a readable media file: {trouble}") from None
    return meta


def check(content_type: str, meta: dict) -> None:
    """Raise Unreadable unless `meta` is what `content_type` promised."""
    video = meta.get("video")
    if content_type.startswith("image/"):
        if not video or video["codec"] != IMAGE_CODECS[content_type] or not video["width"]:
            raise Unreadable(f"not a {content_type} image (found {video and video['codec']})")
    elif not video or not meta.get("duration") or video["codec"] in IMAGE_CODECS.values():
        raise Unreadable(f"not a {content_type} video with a duration")
