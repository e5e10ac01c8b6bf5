"""What an asset is encoded into (seed 004, "Encoding"), as plain rules: the ffmpeg commands that
make each output from the probed source, and which outputs only a content key opens.

Video (the seeds' `trigger_encode_gcp_transcoder` steps): a thumbnail (an uploaded one is copied
instead), a trailer when the source runs at least 3 minutes (an uploaded one is copied instead)
with its `trailer-blurred`, the `SOURCE-blurred` preview, and HLS renditions encrypted with AES-128.
Images (`trigger_encode_message`): encrypted renditions, a blurred thumbnail (an uploaded one is
copied instead) and a blurred preview.
Streams are copied where the codecs allow it and re-encoded only where they must be.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

TRAILER_FROM = 180  # seconds: a source at least this long gets a trailer cut from it
TRAILER_SECONDS = 30
SEGMENT_SECONDS = 6
LADDER = (360,)  # heights re-encoded below the source's own rendition, when the source is taller
IMAGE_WIDTHS = (1080, 480)  # image renditions narrower than the source, beside its own size
MAX_IMAGE_WIDTH = 2048
THUMBNAIL_WIDTH = 480
PREVIEW_HEIGHT = 240  # the blurred video preview: its detail is blurred away, so it stays small
HLS_CODECS = ({"h264"}, {"aac", "mp3", None})  # what MPEG-TS segments take as they are
MP4_CODECS = ({"h264", "hevc"}, {"aac", "mp3", None})
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]


@dataclass
class Output:
    label: str  # thumbnail, preview, trailer, trailer-blurred, SOURCE-blurred, image-<width>, hls
    path: str  # under the work folder (a folder for hls)
    content_type: str
    encrypted: bool = False  # opened only with the asset's content key


@dataclass
class Plan:
    commands: list[list[str]] = field(default_factory=list)  # ffmpeg arguments, run in order
    outputs: list[Output] = field(default_factory=list)
    copies: dict[str, str] = field(default_factory=dict)  # label -> uploaded artifact copied as it is
    renditions: list[dict] = field(default_factory=list)  # hls: name, width, height


def _fits(meta: dict, codecs: tuple[set, set]) -> bool:
    video, audio = meta.get("video") or {}, meta.get("audio")
    return video.get("codec") in codecs[0] and (audio["codec"] if audio else None) in codecs[1]


def _even(width: int, height: int, to_height: int) -> int:
    return max(2, round(width * to_height / height / 2) * 2)


def video(meta: dict, source: str, work: str, key_info: str, uploaded: dict[str, str]) -> Plan:
    """`uploaded`: label -> id of an uploaded, probed artifact (thumbnail, trailer) to copy instead."""
    plan = Plan()
    duration, width, height = meta["duration"], meta["video"]["width"], meta["video"]["height"]
    streams = ["-map", "0:v:0", "-map", "0:a:0?"]
    out = lambda name: os.path.join(work, name)  # noqa: E731
    if "thumbnail" in uploaded:
        plan.copies["thumbnail"] = uploaded["thumbnail"]
    else:
        plan.commands.append(["-ss", f"{min(1.0, duration / 2):.3f}", "-i", source, "-frames:v", "1",
                              "-vf", f"scale='min({THUMBNAIL_WIDTH},iw)':-2", "-q:v", "3", out("thumbnail.jpg")])
        plan.outputs.append(Output("thumbnail", out("thumbnail.jpg"), "image/jpeg"))
    if "trailer" in uploaded:
        plan.copies["trailer"] = uploaded["trailer"]
    elif duration >= TRAILER_FROM:
        codecs = ["-c", "copy"] if _fits(meta, MP4_CODECS) else [*X264, "-crf", "23", "-c:a", "aac"]
        plan.commands.append(["-i", source, "-t", str(TRAILER_SECONDS), *streams, *codecs, "-movflags", "+faststart",
                              out("trailer.mp4")])
        plan.commands.append(["-i", source, "-t", str(TRAILER_SECONDS), "-map", "0:v:0", "-vf", _blur(), *X264,
                              "-crf", "32", "-an", "-movflags", "+faststart", out("trailer-blurred.mp4")])
        plan.outputs += [Output("trailer", out("trailer.mp4"), "video/mp4"),
                         Output("trailer-blurred", out("trailer-blurred.mp4"), "video/mp4")]
    plan.commands.append(["-i", source, "-map", "0:v:0", "-vf", _blur(), "-c:v", "libx264", "-preset", "ultrafast",
                          "-pix_fmt", "yuv420p", "-crf", "32", "-an", "-movflags", "+faststart",
                          out("source-blurred.mp4")])
    plan.outputs.append(Output("SOURCE-blurred", out("source-blurred.mp4"), "video/mp4"))

    # periodic_rekey: the key info is read for each segment, so each gets its own IV (its sequence number)
    hls = ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod", "-hls_key_info_file", key_info,
           "-hls_flags", "periodic_rekey"]
    ladder = [("source", height)] + [(f"{h}p", h) for h in LADDER if h < height]
    for name, to_height in ladder:
        folder = out(f"hls/{name}")
        os.makedirs(folder, exist_ok=True)
        if name == "source" and _fits(meta, HLS_CODECS):
            codecs = ["-c", "copy"]
        else:  # segments start on keyframes every SEGMENT_SECONDS, so renditions switch cleanly
            scale = [] if name == "source" else ["-vf", f"scale=-2:{to_height}"]
            codecs = [*scale, *X264, "-crf", "23" if name == "source" else "26",
                      "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})", "-c:a", "aac", "-b:a", "128k"]
        plan.commands.append(["-i", source, *streams, *codecs, *hls,
                              "-hls_segment_filename", os.path.join(folder, "%04d.ts"),
                              os.path.join(folder, "index.m3u8")])
        plan.renditions.append({"name": name, "height": to_height,
                                "width": width if name == "source" else _even(width, height, to_height)})
    plan.outputs.append(Output("hls", out("hls"), "application/vnd.apple.mpegurl", encrypted=True))
    return plan


def image(meta: dict, source: str, work: str, uploaded: dict[str, str]) -> Plan:
    plan = Plan()
    width = meta["video"]["width"]
    out = lambda name: os.path.join(work, name)  # noqa: E731
    widths = sorted({min(width, MAX_IMAGE_WIDTH), *(w for w in IMAGE_WIDTHS if w < width)}, reverse=True)
    for w in widths:  # encrypted after encoding (shared.assets.keys)
        plan.commands.append(["-i", source, "-frames:v", "1", "-vf", f"scale={w}:-2", "-q:v", "3",
                              out(f"image-{w}.jpg")])
        plan.outputs.append(Output(f"image-{w}", out(f"image-{w}.jpg"), "image/jpeg", encrypted=True))
    if "thumbnail" in uploaded:
        plan.copies["thumbnail"] = uploaded["thumbnail"]
    else:  # blurred: a clear thumbnail of an image is the image itself, shown to locked viewers
        plan.commands.append(["-i", source, "-frames:v", "1", "-vf",
                              f"scale='min({THUMBNAIL_WIDTH},iw)':-2,gblur=sigma=20", "-q:v", "5",
                              out("thumbnail.jpg")])
        plan.outputs.append(Output("thumbnail", out("thumbnail.jpg"), "image/jpeg"))
    plan.commands.append(["-i", source, "-frames:v", "1", "-vf", f"scale='min({THUMBNAIL_WIDTH},iw)':-2,gblur=sigma=20",
                          "-q:v", "5", out("preview.jpg")])
    plan.outputs.append(Output("preview", out("preview.jpg"), "image/jpeg"))
    return plan


def _blur() -> str:
    return f"scale=-2:'min({PREVIEW_HEIGHT},ih)',gblur=sigma=12"


def key_info(key_uri: str, key_path: str) -> str:
    """ffmpeg's -hls_key_info_file: the URI written into the playlist, then the key file. No IV
    line: ffmpeg then uses each segment's media sequence number (written as its EXT-X-KEY's IV)."""
    return f"{key_uri}\n{key_path}\n"


def segments(playlist: str) -> list[tuple[float, str]]:
    """(duration, URI) of each segment of a media playlist."""
    found, duration = [], None
    for line in playlist.splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line and not line.startswith("#") and duration is not None:
            found.append((duration, line))
            duration = None
    return found
