"""Accounts end to end over HTTP: sign-up with unique emails under concurrency, login and its
limit, refresh rotation with reuse detection, logout, UTM, roles, KYC, and the local command."""
from __future__ import annotations

import threading
import uuid

import pytest

from tests.e2e.helpers import PASSWORD, admin_command, as_user, email, login, signup
from tests.support import User

pytestmark = pytest.mark.stack


def address() -> dict:
    """A client address of this test's own: failures elsewhere do not count against it."""
    return {"X-Forwarded-For": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}


def test_sign_up_then_me_with_utm_set_once_and_current_following_logins(api):
    mail = email()
    created = signup(api, mail, utm_source="ads", utm_campaign="spring")
    assert created.status_code == 201, created.text
    tokens = created.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] <= 900 and tokens["refresh_token"]
    me = api.call("GET", "/me", as_user(tokens)).json()
    assert me["email"] == mail and me["roles"] == [] and "password_hash" not in me
    assert me["utm"]["initial"]["source"] == "ads" and me["utm"]["current"]["campaign"] == "spring"

    assert login(api, mail.upper(), utm_source="newsletter").status_code == 200  # the email's case does not matter
    assert login(api, mail).status_code == 200  # no utm: current stays
    me = api.call("GET", "/me", as_user(tokens)).json()
    assert me["utm"]["initial"] == {
        "source": "ads", "medium": None, "campaign": "spring", "term": None, "content": None}
    assert me["utm"]["current"]["source"] == "newsletter" and me["utm"]["current"]["campaign"] is None


def test_an_email_signs_up_once_whatever_its_case_even_concurrently(api):
    mail = email()
    answers: list[int] = []

    def attempt(variant: str):
        answers.append(signup(api, variant).status_code)

    variants = [mail if i % 2 else mail.upper() for i in range(8)]
    threads = [threading.Thread(target=attempt, args=(v,)) for v in variants]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(answers) == [201] + [409] * 7, answers
    again = signup(api, mail.title())
    assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"


def test_bad_sign_ups_and_logins_get_clear_errors(api):
    assert signup(api, "not-an-email").json()["error"]["code"] == "validation_error"
    short = api.call("POST", "/auth/signup", json={"email": email(), "password": "short", "display_name": "x",
                                                    "country": "us"})
    assert short.status_code == 400
    mail = email()
    signup(api, mail)
    wrong = login(api, mail, "wrong password!", headers=address())
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credentials"
    unknown = login(api, email(), headers=address())
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "invalid_credentials"


def test_refresh_rotates_and_a_reused_token_revokes_its_whole_login(api):
    mail = email()
    first = signup(api, mail).json()["refresh_token"]
    rotated = api.call("POST", "/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refresh_token"]
    assert second != first and api.call("GET", "/me", as_user(rotated.json())).status_code == 200

    reused = api.call("POST", "/auth/refresh", json={"refresh_token": first})  # a thief replays the old one
    assert reused.status_code == 401 and reused.json()["error"]["code"] == "refresh_token_reused"
    after = api.call("POST", "/auth/refresh", json={"refresh_token": second})  # the family is gone
    assert after.status_code == 401 and after.json()["error"]["code"] == "refresh_token_revoked"

    other_login = login(api, mail).json()["refresh_token"]  # another device's login is another family
    assert api.call("POST", "/auth/refresh", json={"refresh_token": other_login}).status_code == 200
    forged = api.call("POST", "/auth/refresh", json={"refresh_token": first.split(".")[0] + ".forged-secret-xx"})
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_refresh_token"


def test_logout_ends_the_login(api):
    tokens = signup(api).json()
    out = api.call("POST", "/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 200 and out.json() == {"revoked": True}
    refused = api.call("POST", "/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "refresh_token_revoked"
    assert api.call("POST", "/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 200


def test_failed_logins_are_limited_per_account_and_per_client(api):
    mail = email()
    signup(api, mail)
    for _ in range(5):
        assert login(api, mail, "wrong password!", headers=address()).status_code == 401
    limited = login(api, mail, headers=address())  # even the right password, from anywhere
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(limited.headers["Retry-After"]) <= 900
    assert limited.json()["error"]["details"]["limited"] == "account"

    client = address()
    for _ in range(30):  # many accounts from one address
        assert login(api, email(), "wrong password!", headers=client).status_code == 401
    from_there = login(api, email(), headers=client)
    assert from_there.status_code == 429 and from_there.json()["error"]["details"]["limited"] == "client"
    fine = signup(api).json()["user"]["email"]
    assert login(api, fine, headers=address()).status_code == 200  # other addresses are not limited


def test_roles_granted_by_the_local_command_and_the_admin_endpoint(api):
    admin_mail = email()
    out = admin_command("create-admin", "--email", admin_mail, "--password", PASSWORD)
    assert '"role:admin"' in out
    admin = as_user(login(api, admin_mail).json())
    assert "role:admin" in login(api, admin_mail).json()["scope"]

    tokens = signup(api).json()
    streamer = as_user(tokens)
    assert api.call("POST", "/sessions", streamer, json={"title": "x"}).status_code == 403  # no role:creator yet
    granted = api.call("PUT", f"/admin/users/{streamer.id}/roles/creator", admin)
    assert granted.status_code == 200 and granted.json()["roles"] == ["role:creator"]
    assert api.call("PUT", f"/admin/users/{streamer.id}/roles/owner", admin).status_code == 404  # no such role
    assert api.call("PUT", f"/admin/users/{streamer.id}/roles/creator", streamer).status_code == 403
    streamer = as_user(api.call("POST", "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json())
    assert api.call("POST", "/sessions", streamer, json={"title": "x"}).status_code == 201

    taken = api.call("DELETE", f"/admin/users/{streamer.id}/roles/creator", admin)
    assert taken.status_code == 200 and taken.json()["roles"] == []


def test_a_tw_streamer_streams_only_once_verified(api):
    admin = User.new("role:admin")
    tokens = signup(api, country="TW").json()
    user = as_user(tokens)
    assert tokens["user"]["kyc_required"] and not tokens["user"]["may_earn"]
    api.call("PUT", f"/admin/users/{user.id}/roles/creator", admin)
    streamer = as_user(api.call("POST", "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json())
    refused = api.call("POST", "/sessions", streamer, json={"title": "x"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "kyc_required"

    submission = {"legal_name": "Lin Mei", "document_type": "national_id", "document_number": "A123456789",
                  "birth_date": "1999-02-03"}
    pending = api.call("POST", "/me/kyc", streamer, json=submission)
    assert pending.status_code == 201 and pending.json()["kyc"]["status"] == "pending"
    assert pending.json()["kyc"]["document_last4"] == "6789" and "A123456789" not in pending.text
    assert api.call("POST", "/me/kyc", streamer, json=submission).json()["error"]["code"] == "kyc_pending"
    assert streamer.id in [u["id"] for u in api.call("GET", "/admin/kyc", admin).json()["users"]]
    assert api.call("POST", "/sessions", streamer, json={"title": "x"}).status_code == 403

    rejected = api.call("POST", f"/admin/users/{streamer.id}/kyc", admin,
                        json={"decision": "reject", "reason": "blurry"})
    assert rejected.json()["kyc"]["status"] == "rejected"
    assert api.call("POST", "/me/kyc", streamer, json=submission).status_code == 201  # resubmitted
    approved = api.call("POST", f"/admin/users/{streamer.id}/kyc", admin, json={"decision": "approve"})
    assert approved.status_code == 200 and approved.json()["may_earn"] is True
    assert api.call("POST", "/sessions", streamer, json={"title": "x"}).status_code == 201
    again = api.call("POST", f"/admin/users/{streamer.id}/kyc", admin, json={"decision": "reject"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "kyc_not_pending"


def test_users_elsewhere_pass_kyc_without_submitting(api):
    user = as_user(signup(api, country="jp").json())
    me = api.call("GET", "/me", user).json()
    assert me["kyc_required"] is False and me["may_earn"] is True
    refused = api.call("POST", "/me/kyc", user, json={"legal_name": "Sato", "document_type": "passport",
                                                      "document_number": "TK1234567", "birth_date": "1990-01-01"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "kyc_not_required"
