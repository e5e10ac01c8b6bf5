"""The auth endpoints' wire format as pusher-js itself speaks it (npm, run by node): its own request
to POST /pusher/auth and the pusher-js-auth plugin's batch to POST /pusher/batch-authenticate,
subscribing on the local Pusher server. Each channel succeeds or fails as its rule says."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest

from shared.core.config import settings
from shared.rtc import access_token
from tests.e2e.helpers import provision
from tests.support import User, start_session

pytestmark = pytest.mark.stack
SCRIPT = pathlib.Path(__file__).with_name("js") / "subscribe.cjs"
ENDPOINTS = {False: "/pusher/auth", True: "/pusher/batch-authenticate"}


def subscribe(api, user: User, channels: list[str], *, batch: bool) -> dict:
    """What happened to each channel when pusher-js subscribed to all of them at once, and the
    number of auth requests it sent: {"requests", "channels": {channel: {"ok", "me" | "status"}}}."""
    args = {"key": os.environ["PUSHER_KEY"], "wsPort": int(os.environ["PUSHER_PORT"]), "token": user.token,
            "authEndpoint": api.base + ENDPOINTS[batch], "batch": batch, "channels": channels}
    run = subprocess.run(["node", str(SCRIPT), json.dumps(args)], capture_output=True, text=True, timeout=60,
                         cwd=pathlib.Path(__file__).parents[2])  # node_modules at the repository's root
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("batch", [False, True], ids=["pusher-auth", "batch-authenticate"])
def test_pusher_js_subscribes_exactly_where_the_rules_allow(api, streamer, batch):
    viewer, other = User.new(), User.new()
    start_session(api, streamer)
    sd = f"presence-enc-stream-viewer@{streamer.id}.sd.{viewer.id}"
    expected = {
        f"private-user@{viewer.id}": True,
        f"private-user@{other.id}": False,
        f"private-stream@{streamer.id}": True,
        f"presence-stream@{streamer.id}": True,
        f"presence-stream-viewer@{streamer.id}.preview.{viewer.id}": True,
        f"presence-stream-viewer@{streamer.id}.preview.{other.id}": False,
        sd: False,  # has not paid
    }
    run = subscribe(api, viewer, list(expected), batch=batch)
    results = run["channels"]
    assert {channel: result["ok"] for channel, result in results.items()} == expected
    assert {results[c]["status"] for c, ok in expected.items() if not ok} == {403}
    assert run["requests"] == (1 if batch else len(expected))  # one request per channel, or one in all
    me = results[f"presence-stream@{streamer.id}"]["me"]
    assert me["id"] == viewer.id and me["info"]["id"] == viewer.id

    provision(api, viewer, 100)
    assert api.call("POST", f"/streams/{streamer.id}/pay", viewer, json={"duration": 60}).status_code == 201
    paid = subscribe(api, viewer, [sd], batch=batch)["channels"][sd]
    assert paid["ok"], paid
    info = paid["me"]["info"]
    assert access_token.verify(info["byteplus_token"], settings().rtc_app_key)
    token = access_token.parse(info["byteplus_token"])
    assert (token["app_id"], token["room_id"], token["user_id"]) == (info["app_id"], info["room_id"], viewer.id)
