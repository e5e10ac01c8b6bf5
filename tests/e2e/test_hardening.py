"""What an adversarial probe of the skeleton found, each over the real stack."""
from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import time

import pytest

from shared.core import auth, firestore, ids, signals, steps, tasks
from shared.goals import service
from shared.livestream import sessions
from tests.e2e.helpers import stranded_goal
from tests.support import User, create_funding_goal, funding_body, settled, start_session, wait_until

pytestmark = pytest.mark.stack


def for_goal(goal_id):
    return lambda data: isinstance(data, dict) and data.get("goal_id") == goal_id


def concurrently(n: int, call) -> list:
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: call(), range(n)))


def test_twenty_concurrent_deletes_get_one_winner_and_prompt_409s(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    sock = pusher_socket(f"private-stream@{streamer.id}")
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    codes = sorted(r.status_code
                   for r in concurrently(20, lambda: api.call("DELETE", f"/goals/{goal['id']}", streamer)))
    assert codes == [200] + [409] * 19
    sock.wait_for("goal.ended", where=for_goal(goal["id"]))
    settled()
    assert sock.count("goal.ended", for_goal(goal["id"])) == 1


def test_concurrent_creates_and_session_ends_never_fail(api, streamer):
    starts = concurrently(10, lambda: api.call("POST", "/sessions", streamer, json={}))
    assert sorted(r.status_code for r in starts) == [201] + [409] * 9
    (session,) = [r.json() for r in starts if r.status_code == 201]
    body = funding_body(session["id"], int(time.time()) + 600)
    creates = concurrently(10, lambda: api.call("POST", "/goals?type=show-funding", streamer, json=body))
    assert sorted(r.status_code for r in creates) == [201] + [409] * 9
    ends = concurrently(10, lambda: api.call("DELETE", f"/sessions/{session['id']}", streamer))
    assert sorted(r.status_code for r in ends) == [200] + [409] * 9
    assert sessions.load(session["id"]).active is False


def test_a_goal_with_the_largest_titles_still_reaches_its_clients(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    sock = pusher_socket(f"private-stream@{streamer.id}")
    body = funding_body(session["id"], int(time.time()) + 600)
    body["levels"] = [{"title": "票" * 100, "target": 10}] * 20
    goal = api.call("POST", "/goals?type=show-funding", streamer, json=body).json()
    assert api.call("DELETE", f"/goals/{goal['id']}", streamer).status_code == 200
    ended = sock.wait_for("goal.ended", where=for_goal(goal["id"]))
    assert len(json.dumps(ended[3]).encode()) < 1024 and ended[3]["target"] == 10


def push(api, function: str, sender: str, payload: dict, token: str | None) -> int:
    envelope = {"message": {"attributes": {"sender": sender, "event_id": f"{sender}:{payload['goal_id']}"},
                            "data": base64.b64encode(json.dumps(payload).encode()).decode(),
                            "messageId": ids.new_id(), "publishTime": "2026-11-23T19:41:02Z"},
                "subscription": f"projects/demo-local/subscriptions/{function}"}
    query = f"?token={token}" if token is not None else ""
    return api.call("POST", f"/receivers/{function}{query}", json=envelope).status_code


def test_forged_pushes_are_refused_and_cannot_take_the_real_events_place(api, streamer):
    session = start_session(api, streamer)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    function = "goal-ended--set-embedded-goal-ended"
    forged = service.load(goal["id"]).ended_event().model_dump(mode="json", by_alias=True)  # still active
    assert push(api, function, "goal.ended", forged, token=None) == 403
    assert push(api, function, "goal.ended", forged, token="guess") == 403
    # with the stack's token (as if it leaked): the receiver re-checks the goal and refuses
    assert push(api, function, "goal.ended", forged, token=os.environ["PUSH_TOKEN"]) in (200, 204)
    assert steps.stored(f"set_embedded_goal_ended@goal.ended:{goal['id']}") is None
    wait_until(lambda: sessions.load(session["id"]).pair_for(goal["id"]), what="the pair")
    assert sessions.load(session["id"]).pair_for(goal["id"]).funding_ended is None
    # the real event still counts
    assert api.call("DELETE", f"/goals/{goal['id']}", streamer).status_code == 200
    wait_until(lambda: sessions.load(session["id"]).pair_for(goal["id"]).funding_ended, what="funding_ended")


def test_an_id_with_a_trailing_newline_is_no_id(api, streamer):
    session = start_session(api, streamer)
    assert api.call("GET", f"/sessions/{session['id']}%0A", streamer).status_code == 404
    assert api.call("GET", f"/sessions/{session['id']}%0A", streamer).headers["Content-Type"].startswith(
        "application/json")
    newline = User(streamer.id + "\n", auth.mint(streamer.id + "\n", ["role:creator"]), "app")
    assert api.call("POST", "/sessions", newline, json={}).status_code == 401


def test_a_task_signature_that_is_not_ascii_is_a_401(api):
    body = json.dumps({"goal_id": ids.new_id()}).encode()
    response = api.call("POST", "/tasks/deactivate_goal", data=body,
                        headers={"Content-Type": "application/json", tasks.SIGNATURE_HEADER: "é".encode("latin-1")})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_an_early_refund_check_reschedules_instead_of_deciding(api, streamer):
    session = start_session(api, streamer)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600, hesitation=60)
    assert api.call("DELETE", f"/goals/{goal['id']}", streamer).status_code == 200
    body = json.dumps({"goal_id": goal["id"]}).encode()
    signed = {"Content-Type": "application/json",
              tasks.SIGNATURE_HEADER: tasks.sign("check_funding_goal_refundable", body)}
    early = api.call("POST", "/tasks/check_funding_goal_refundable", data=body, headers=signed)
    assert early.status_code == 200 and early.json()["result"] == "rescheduled"
    assert service.load(goal["id"]).refund is None


def test_other_callers_see_the_public_view_of_a_goal(api, streamer, viewer):
    session = start_session(api, streamer)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    api.call("DELETE", f"/goals/{goal['id']}", streamer)
    public = api.call("GET", f"/goals/{goal['id']}", viewer).json()
    assert public["id"] == goal["id"] and public["active"] is False
    assert not {"triggerer", "refund", "breakdown", "metadata"} & set(public)
    assert api.call("GET", f"/goals/{goal['id']}", streamer).json()["triggerer"] == streamer.client_id


def test_the_backstops_find_due_work_behind_many_long_lived_goals_and_failing_markers(api, streamer):
    """500 active goals far from their exp and 201 markers whose effects keep failing sit in
    front of one stranded goal and one unsent marker: both are still made good."""
    session = start_session(api, streamer)
    long_lived = stranded_goal(session["id"], streamer.id, active=True)
    long_lived.exp = int(time.time()) + 86400
    batch, written = firestore.db().batch(), []
    for _ in range(500):
        goal = long_lived.model_copy(update={"id": ids.new_id()})
        batch.set(service.goal_ref(goal.id), firestore.document(goal))
        written.append(service.goal_ref(goal.id))
    batch.commit()
    failing = firestore.db().batch()
    for n in range(201):
        ref = steps.marker(f"test-failing:{ids.new_id()}")
        failing.set(ref, {"key": ref.id, "applied_at": 0, "effects": [{"kind": "from-the-future"}], "flushed_at": None,
                          "lease_until": 0, "repeats": 0, "sweep_at": n})
        written.append(ref)
    failing.commit()
    try:
        stranded = stranded_goal(session["id"], streamer.id, active=True)
        unsent = f"test-unsent:{ids.new_id()}"
        steps.marker(unsent).set({"key": unsent, "applied_at": time.time(), "effects": [], "flushed_at": None,
                                  "lease_until": 0, "repeats": 0, "sweep_at": time.time()})
        wait_until(lambda: service.load(stranded.id).refund, timeout=45, what="the stranded goal's refund decision")
        wait_until(lambda: steps.stored(unsent)["flushed_at"], timeout=45, what="the unsent marker")
    finally:
        for start in range(0, len(written), 400):
            cleanup = firestore.db().batch()
            for ref in written[start:start + 400]:
                cleanup.delete(ref)
            cleanup.commit()


def test_a_redelivered_signal_with_a_new_message_id_is_still_one_event(api, streamer, pusher_socket):
    """The event id, not Pub/Sub's message id, makes a repeat (a re-publish is a new message)."""
    session = start_session(api, streamer)
    sock = pusher_socket(f"private-stream@{streamer.id}")
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 600)
    api.call("DELETE", f"/goals/{goal['id']}", streamer)
    sock.wait_for("goal.ended", where=for_goal(goal["id"]))
    signals.publish("goal.ended", service.load(goal["id"]).ended_event())
    settled()
    assert sock.count("goal.ended", for_goal(goal["id"])) == 1
