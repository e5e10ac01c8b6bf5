"""The encoding plan's rules: what is made from which source, copied or re-encoded."""
from __future__ import annotations

from shared.assets import encoding


def _video(duration=200.0, width=1280, height=720, video="h264", audio="aac") -> dict:
    meta = {"duration": duration, "video": {"codec": video, "width": width, "height": height}}
    if audio:
        meta["audio"] = {"codec": audio}
    return meta


def _labels(plan) -> set[str]:
    return {o.label for o in plan.outputs} | set(plan.copies)


def _command(plan, output_suffix: str) -> list[str]:
    (found,) = [c for c in plan.commands if c[-1].endswith(output_suffix)]
    return found


def test_a_long_h264_aac_video_is_copied_where_it_can_be(tmp_path):
    plan = encoding.video(_video(), "/src", str(tmp_path), "/info", {})
    assert _labels(plan) == {"thumbnail", "trailer", "trailer-blurred", "SOURCE-blurred", "hls"}
    assert "copy" in _command(plan, "trailer.mp4") and "-t" in _command(plan, "trailer.mp4")
    assert "copy" in _command(plan, "source/index.m3u8")  # segments take H.264 and AAC as they are
    lower = _command(plan, "360p/index.m3u8")
    assert "libx264" in lower and "scale=-2:360" in lower and "periodic_rekey" in lower
    assert [(r["name"], r["width"], r["height"]) for r in plan.renditions] == [
        ("source", 1280, 720), ("360p", 640, 360)]
    assert [o for o in plan.outputs if o.encrypted] == [o for o in plan.outputs if o.label == "hls"]


def test_a_short_video_gets_no_trailer_and_other_codecs_are_re_encoded(tmp_path):
    plan = encoding.video(_video(duration=179.9, video="hevc", audio="opus"), "/src", str(tmp_path), "/info", {})
    assert _labels(plan) == {"thumbnail", "SOURCE-blurred", "hls"}
    assert "copy" not in _command(plan, "source/index.m3u8") and "libx264" in _command(plan, "source/index.m3u8")


def test_uploaded_artifacts_are_copied_instead_of_made(tmp_path):
    plan = encoding.video(_video(), "/src", str(tmp_path), "/info", {"thumbnail": "t" * 24, "trailer": "r" * 24})
    assert plan.copies == {"thumbnail": "t" * 24, "trailer": "r" * 24}
    assert not [o for o in plan.outputs if o.label in ("thumbnail", "trailer", "trailer-blurred")]


def test_a_small_video_has_only_its_own_rendition(tmp_path):
    plan = encoding.video(_video(width=480, height=360, audio=None), "/src", str(tmp_path), "/info", {})
    assert [r["name"] for r in plan.renditions] == ["source"]


def test_images_get_encrypted_renditions_no_wider_than_the_source():
    plan = encoding.image({"video": {"codec": "png", "width": 1600, "height": 900}}, "/src", "/out", {})
    assert [o.label for o in plan.outputs if o.encrypted] == ["image-1600", "image-1080", "image-480"]
    assert {o.label for o in plan.outputs if not o.encrypted} == {"thumbnail", "preview"}
    small = encoding.image({"video": {"codec": "png", "width": 64, "height": 48}}, "/src", "/out", {"thumbnail": "t"})
    assert [o.label for o in small.outputs] == ["image-64", "preview"] and small.copies == {"thumbnail": "t"}
    huge = encoding.image({"video": {"codec": "png", "width": 5000, "height": 3000}}, "/src", "/out", {})
    assert [o.label for o in huge.outputs if o.encrypted] == ["image-2048", "image-1080", "image-480"]


def test_segments_are_read_from_a_media_playlist():
    playlist = ("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"key:x\",IV=0x1\n"
                "#EXTINF:6.000000,\n0000.ts\n#EXTINF:2.5,\n0001.ts\n#EXT-X-ENDLIST\n")
    assert encoding.segments(playlist) == [(6.0, "0000.ts"), (2.5, "0001.ts")]
