"""The media encoder's wall time against the bare ffmpeg commands it runs, in the same run.

Starts its own stack on free ports and generates a 200 s 720p clip (H.264 and AAC) with ffmpeg.
Each round first runs the encoder's commands (shared.assets.encoding's plan for this clip) one
after another on a local copy, then uploads the clip through a signed URL, posts it and waits for
the post to be ready. The pipeline's time is the encode job's, from the worker's start to its
recorded result (`encoding.started_at` -> `finished_at`: reading the source from the bucket, the
commands, encrypting and uploading the outputs, the steps); the whole span from the upload's
PUT to the post being ready is printed too. Target: pipeline / bare <= 1.2.

    .venv/bin/python tests/benchmarks/encode_pipeline.py [rounds] [--seconds S] [--size WxH]

`--seconds` and `--size` make the clip shorter and smaller, for a quick run that only checks the
benchmark works (the smoke test: `1 --seconds 4 --size 320x180`); under 3 minutes there is no trailer.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from shared import app  # noqa: E402
from tests.stack import running_stack  # noqa: E402
from tests.support import Api, User  # noqa: E402

SECONDS, SIZE = 200, "1280x720"  # the e2e tests' clip (tests/e2e/helpers.py)


def bare(clip: str, meta: dict) -> float:
    """The plan's ffmpeg commands, run as the encoder runs them, without the pipeline around them."""
    from shared.assets import encoding
    from shared.assets.encoder import run

    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "key"), "wb") as f:
            f.write(os.urandom(16))
        info = os.path.join(work, "key-info")
        with open(info, "w") as f:
            f.write(encoding.key_info("key:bench", os.path.join(work, "key")))
        plan = encoding.video(meta, clip, os.path.join(work, "out"), info, {})
        started = time.monotonic()
        run(plan.commands, time.monotonic() + 3600)
        return time.monotonic() - started


def pipeline(api: Api, creator: User, data: bytes) -> tuple[float, float]:
    """(the encode job's wall time, PUT of the upload -> post ready)."""
    import requests

    asset = api.call("POST", "/assets", creator, json={"content_type": "video/mp4", "size": len(data)}).json()
    asset_id, upload = asset["asset"]["id"], asset["upload"]
    put_at = time.time()
    assert requests.put(upload["url"], data=data, headers=upload["headers"], timeout=120).status_code == 200
    while not api.call("GET", f"/assets/{asset_id}", creator).json()["metadata"]:
        time.sleep(0.2)
    body = {"assets": [asset_id], "caption": {"text": "bench"}, "pricing": {"kind": "free"}}
    post = api.call("POST", "/posts", creator, json=body).json()
    deadline = time.time() + 900
    while (status := api.call("GET", f"/posts/{post['id']}", creator).json()["status"]) == "processing":
        assert time.time() < deadline, "the post was not encoded in 15 minutes"
        time.sleep(0.2)
    ready_at = time.time()
    assert status == "ready", status
    enc = api.call("GET", f"/assets/{asset_id}", creator).json()["encoding"]
    return enc["finished_at"] - enc["started_at"], ready_at - put_at


def source(seconds: int, size: str) -> bytes:
    """H.264 and AAC made as the e2e tests' clip is, of `seconds` at `size`."""
    from tests.e2e.helpers import clip, generated

    if (seconds, size) == (SECONDS, SIZE):
        return clip()
    return generated(["-f", "lavfi", "-i", f"testsrc2=duration={seconds}:size={size}:rate=25",
                      "-f", "lavfi", "-i", f"sine=duration={seconds}", "-c:v", "libx264", "-preset", "veryfast",
                      "-crf", "30", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-shortest"],
                     ".mp4")


def summary(name: str, values: list[float]) -> str:
    return (f"{name:44s} median {statistics.median(values):6.1f} s   max {max(values):6.1f} s   "
            f"min {min(values):6.1f} s   (n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=SECONDS, help=f"the clip's length (default {SECONDS})")
    parser.add_argument("--size", default=SIZE, help=f"the clip's frame size (default {SIZE})")
    args = parser.parse_args()
    rounds = args.rounds
    app.load()
    from shared.assets.probe import probe

    data = source(args.seconds, args.size)
    with tempfile.NamedTemporaryFile(suffix=".mp4") as local:
        local.write(data)
        local.flush()
        with open(local.name, "rb") as f:
            meta = probe(f)
        print(f"clip: {meta['duration']:.0f} s {meta['video']['width']}x{meta['video']['height']} "
              f"{meta['video']['codec']}/{meta['audio']['codec']}, {len(data) / 1e6:.1f} MB; {os.cpu_count()} CPUs")
        with running_stack() as stack:
            print(f"stack healthy after {stack['healthy_after']:.1f} s")
            api, creator = Api(stack["api"]), User.new("role:creator")
            bares, jobs, spans = [], [], []
            for i in range(rounds):
                bares.append(bare(local.name, meta))
                job, span = pipeline(api, creator, data)
                jobs.append(job)
                spans.append(span)
                print(f"round {i + 1}: bare {bares[-1]:.1f} s, encode job {job:.1f} s ({job / bares[-1]:.2f}x), "
                      f"upload to ready {span:.1f} s")
    print(summary("bare ffmpeg commands", bares))
    print(summary("encode job (read, commands, write, record)", jobs))
    print(summary("upload PUT -> post ready", spans))
    ratios = [j / b for j, b in zip(jobs, bares, strict=True)]
    print(f"encode job / bare commands: median {statistics.median(ratios):.2f}x, max {max(ratios):.2f}x "
          "(target <= 1.2x)")


if __name__ == "__main__":
    main()
