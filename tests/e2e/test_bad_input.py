"""Bad input gets a clear JSON error with the right status and changes nothing."""
from __future__ import annotations

import time

import pytest

from shared.core import auth, ids
from shared.core.firestore import db, where
from tests.support import User, funding_body, start_session

pytestmark = pytest.mark.stack


def error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()["error"]
    assert set(body) == {"code", "message", "details"} and body["message"]
    return body


def goals_of(session_id: str) -> list:
    return list(where("goals", conditions__session_id=session_id).stream())


def goals_created_since(t0: float) -> list[str]:
    """create_goal steps applied since t0 (receivers of earlier tests may still be running)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    recent = db().collection("steps").where(filter=FieldFilter("applied_at", ">=", t0)).stream()
    return [s.get("key") for s in recent if s.get("key").startswith("create_goal:")]


@pytest.mark.parametrize("mutate, field", [
    (lambda b: b.pop("levels"), ["body", "levels"]),
    (lambda b: b.update(levels=[]), ["body", "levels"]),
    (lambda b: b["levels"][0].update(target=0), ["body", "levels", 0, "target"]),
    (lambda b: b["levels"][0].update(target="ten"), ["body", "levels", 0, "target"]),
    (lambda b: b.update(exp="tomorrow"), ["body", "exp"]),
    (lambda b: b.update(exp=int(time.time()) - 10), ["body", "exp"]),
    (lambda b: b["context"].pop("hesitation_countdown"), ["body", "context", "hesitation_countdown"]),
    (lambda b: b["context"].update(session_id="not-an-id"), ["body", "context", "session_id"]),
    (lambda b: b["context"].update(discount_percentage=150), ["body", "context", "discount_percentage"]),
    (lambda b: b.update(surprise=True), ["body", "surprise"]),
])
def test_malformed_goal_bodies_get_field_errors_and_change_nothing(api, streamer, mutate, field):
    session = start_session(api, streamer)
    body = funding_body(session["id"], int(time.time()) + 600)
    mutate(body)
    t0 = time.time()
    err = error(api.call("POST", "/goals?type=show-funding", streamer, json=body), 400)
    assert err["code"] == "validation_error"
    assert field in [d["loc"] for d in err["details"]], err["details"]
    assert goals_of(session["id"]) == [] and goals_created_since(t0) == []
    assert api.call("GET", f"/sessions/{session['id']}", streamer).json()["show_goal_pairs"] == []


def test_requests_that_are_not_json_objects(api, streamer):
    assert error(api.call("POST", "/goals?type=show-funding", streamer, data="{nope",
                          headers={"Content-Type": "application/json"}), 400)["message"] == "the body is not valid JSON"
    assert error(api.call("POST", "/goals?type=show-funding", streamer, json=[1]), 400)["code"] == "validation_error"
    unknown_type = error(api.call("POST", "/goals?type=karaoke", streamer, json={}), 400)
    assert unknown_type["details"][0]["loc"] == ["query", "type"]


def test_authentication_and_scope(api, streamer, viewer):
    assert error(api.call("POST", "/sessions", json={}), 401)["code"] == "unauthorized"
    forged = User(streamer.id, auth.mint(streamer.id, ["role:creator"]) + "x", "app")
    assert error(api.call("POST", "/sessions", forged, json={}), 401)["code"] == "unauthorized"
    assert error(api.call("POST", "/sessions", viewer, json={}), 403)["details"] == {"required": "role:creator"}


def test_ids_and_ownership(api, streamer, viewer):
    session = start_session(api, streamer)
    assert error(api.call("GET", "/goals/not-an-object-id", streamer), 404)["code"] == "not_found"
    assert error(api.call("GET", f"/goals/{ids.new_id()}", streamer), 404)["code"] == "goal_not_found"
    rival = User.new("role:creator")
    body = funding_body(session["id"], int(time.time()) + 600)
    assert error(api.call("POST", "/goals?type=show-funding", rival, json=body), 404)["code"] == "session_not_found"
    assert error(api.call("DELETE", f"/sessions/{session['id']}", rival), 403)["code"] == "not_owner"
    assert error(api.call("PUT", f"/sessions/{session['id']}", streamer), 405)["details"]["allowed"] == [
        "DELETE", "GET"]
    assert error(api.call("GET", "/nowhere", streamer), 404)["code"] == "not_found"


def test_one_active_pre_sale_per_session_and_none_on_an_ended_session(api, streamer):
    session = start_session(api, streamer)
    body = funding_body(session["id"], int(time.time()) + 600)
    first = api.call("POST", "/goals?type=show-funding", streamer, json=body)
    assert first.status_code == 201
    assert error(api.call("POST", "/goals?type=show-funding", streamer, json=body), 409)["details"] == {
        "goal_id": first.json()["id"]}
    assert api.call("DELETE", f"/sessions/{session['id']}", streamer).status_code == 200
    assert error(api.call("POST", "/goals?type=show-funding", streamer, json=body), 409)["code"] == "session_not_active"
    assert len(goals_of(session["id"])) == 1


def test_the_served_openapi_document_is_the_checked_in_one(api):
    import json

    from shared.tools.generate import OPENAPI

    served = api.call("GET", "/openapi.json")
    assert served.status_code == 200 and served.json() == json.loads(OPENAPI.read_text())
