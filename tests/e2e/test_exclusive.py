"""1-on-1 sessions over HTTP and websockets (seeds 001, 003, 004): invitations with their prepaid
minutes in escrow, the streamer's answer, the exclusive goal that pays the prepaid out, the RTC
snapshots around it, and paying for more minutes. The stack runs with an answer deadline of
6 s and a start grace of 4 s (tests/stack.py; the defaults are 120 s and 65 s)."""
from __future__ import annotations

import os
import time

import pytest
import requests

from shared.goals import service as goals
from shared.ledger import service as ledger
from tests.e2e.helpers import balance, provision, settlement
from tests.support import User, settled, until, wait_until

pytestmark = pytest.mark.stack
SD = 45  # diamonds per minute of the sessions here
PREPAID = 120  # seconds: 90 diamonds at SD
FEE = 90 * 30 // 100


def live(api, streamer: User, **prices) -> dict:
    response = api.call("POST", "/sessions", streamer, json={"title": "1-on-1", "prices": {"sd": SD, **prices}})
    assert response.status_code == 201, response.text
    return response.json()


def invite(api, viewer: User, session: dict, prepaid: int = PREPAID, **extra) -> requests.Response:
    return api.call("POST", "/goals?type=trigger-exclusive", viewer,
                    json={"context": {"session_id": session["id"], "prepaid_duration": prepaid}}, **extra)


def answer(api, streamer: User, goal_id: str, agree: bool) -> requests.Response:
    return api.call("DELETE", f"/goals/{goal_id}", streamer, json={"agree": agree})


def start_exclusive(api, streamer: User, session: dict, trigger_id: str) -> requests.Response:
    return api.call("POST", "/goals?type=exclusive", streamer,
                    json={"context": {"session_id": session["id"], "trigger_exclusive_goal_id": trigger_id}})


def viewers_with(api, count: int, diamonds: int = 1000) -> list[User]:
    users = [User.new() for _ in range(count)]
    for user in users:
        provision(api, user, diamonds)
    return users


def session_of(api, streamer: User, session: dict) -> dict:
    return api.call("GET", f"/sessions/{session['id']}", streamer).json()


def rtc_calls(room_id: str) -> list[tuple[str, str]]:
    calls = requests.get(os.environ["RTC_API_URL"] + "/calls", timeout=10).json()
    return [(c["action"], c["task_id"]) for c in calls if c["room_id"] == room_id]  # every call, refused or not


def preview(streamer: User, viewer: User) -> str:
    return f"presence-stream-viewer@{streamer.id}.preview.{viewer.id}"


def test_the_streamer_agrees_to_one_of_two_invitations_and_the_one_on_one_pays_out(api, streamer, pusher_socket):
    session = live(api, streamer)
    room = f"room-{session['id']}"
    source = api.call("POST", f"/sessions/{session['id']}/sources", streamer, json={"room_id": room, "kind": "obs"})
    assert source.status_code == 201, source.text
    first, second = (f"snapshot-{source.json()['id']}-{n}" for n in (1, 2))  # a fresh TaskId per start
    wait_until(lambda: rtc_calls(room) == [("StartSnapshot", first)], what="the source's snapshots starting")

    chosen, other = viewers_with(api, 2)
    streamer_sock = pusher_socket(f"private-stream@{streamer.id}")
    chosen_sock = pusher_socket(preview(streamer, chosen), f"private-user@{chosen.id}")
    other_sock = pusher_socket(f"private-user@{other.id}")
    invitations = {}
    for viewer in (chosen, other):
        response = invite(api, viewer, session)
        assert response.status_code == 201, response.text
        invitations[viewer.id] = goal = response.json()
        assert goal["_cls"] == "TriggerExclusiveGoal" and goal["prepaid"] == 90
        assert goal["conditions"] == {"session_id": session["id"], "exclusive_to": viewer.id}
        assert goal["metadata"]["user_id"] == streamer.id and goal["metadata"]["prepaid_duration"] == PREPAID
        streamer_sock.wait_for("goal.added", where=lambda d, g=goal: d["goal_id"] == g["id"])
    assert [balance(api, v) for v in (chosen, other)] == [910, 910]

    agreed = answer(api, streamer, invitations[chosen.id]["id"], True)
    assert agreed.status_code == 200, agreed.text
    agreed = agreed.json()
    assert agreed["active"] is False and agreed["progress"] == 1 and agreed["triggerer"] == streamer.client_id
    at = agreed["metadata"]["agreed"]
    # within the grace after agreeing (4 s here), the streamer starts the 1-on-1
    exclusive = start_exclusive(api, streamer, session, invitations[chosen.id]["id"])
    assert exclusive.status_code == 201, exclusive.text
    exclusive = exclusive.json()
    assert exclusive["_cls"] == "ExclusiveGoal" and exclusive["context"]["exclusive_to"] == chosen.id
    assert exclusive["exp"] == int(at + 60 + PREPAID)

    # the other invitation ends and is refunded at once
    other_sock.wait_for("escrow.refunded", timeout=20)
    assert balance(api, other) == 1000 and settlement(invitations[other.id]["id"]).outcome == "refund"
    # the chosen viewer may watch: the window, stream.authorized, the 1-on-1 is theirs
    _, _, _, authorized = chosen_sock.wait_for("stream.authorized", channel=preview(streamer, chosen))
    assert authorized["exclusive"] is True and authorized["viewer_id"] == chosen.id
    state = wait_until(lambda: (s := session_of(api, streamer, session))["viewers"] and s, what="session.viewers")
    assert state["viewers"] == {chosen.id: {"nbf": at, "duration": 60 + PREPAID, "exp": at + 60 + PREPAID}}
    assert state["status"]["exclusive_to"] == [chosen.id]
    state = wait_until(lambda: (s := session_of(api, streamer, session))["exclusive_goal_pairs"].keys() == {chosen.id}
                       and s["exclusive_goal_pairs"][chosen.id]["exclusive_goal"] and s, what="the pairs")
    pair = state["exclusive_goal_pairs"][chosen.id]
    assert (pair["trigger_exclusive_goal_agreed"], pair["exclusive_goal"]) == (at, exclusive["id"])

    # the prepaid is paid out once the 1-on-1 started, and snapshots stop for it
    assert settlement(invitations[chosen.id]["id"]).outcome == "payout"
    wait_until(lambda: api.call("GET", "/wallet", streamer).json()["earnings"] == 90 - FEE, timeout=20, what="payout")
    assert {h["state"] for h in api.call("GET", "/wallet", chosen).json()["holds"]} == {"paid_out"}
    wait_until(lambda: rtc_calls(room) == [("StartSnapshot", first), ("StopSnapshot", first)],
               what="snapshots stopped for the 1-on-1")
    assert goals.load(invitations[chosen.id]["id"]).context.exclusive_goal_id == exclusive["id"]

    ended = api.call("DELETE", f"/goals/{exclusive['id']}", streamer)
    assert ended.status_code == 200, ended.text
    chosen_sock.wait_for("goal.ended", channel=f"private-user@{chosen.id}")
    chosen_sock.wait_for("stream.authorized", where=lambda d: d["exclusive"] is False)
    state = wait_until(lambda: (s := session_of(api, streamer, session))["exclusive_goal_pairs"] == {} and s,
                       what="the pair cleared")
    assert state["status"]["exclusive_to"] == []
    wait_until(lambda: len(rtc_calls(room)) == 3, what="snapshots started again")
    assert rtc_calls(room) == [("StartSnapshot", first), ("StopSnapshot", first), ("StartSnapshot", second)]
    # nothing else happens to the money once the grace's checks were due and ran
    until(max(goals.load(goal["id"]).refund_due_at or 0 for goal in invitations.values()))
    settled()
    assert balance(api, chosen) == 910 and api.call("GET", "/wallet", streamer).json()["earnings"] == 90 - FEE
    assert ledger.totals().balanced


def test_a_declined_invitation_is_refunded_and_the_viewer_may_invite_again(api, streamer, pusher_socket):
    session = live(api, streamer)
    (viewer,) = viewers_with(api, 1)
    sock = pusher_socket(f"private-user@{viewer.id}")
    goal = invite(api, viewer, session).json()
    declined = answer(api, streamer, goal["id"], False)
    assert declined.status_code == 200 and declined.json()["metadata"].get("agreed") is None
    sock.wait_for("escrow.refunded", where=lambda d: d["goal_id"] == goal["id"])
    assert balance(api, viewer) == 1000 and settlement(goal["id"]).outcome == "refund"
    assert session_of(api, streamer, session)["status"]["exclusive_to"] == []
    again = invite(api, viewer, session)
    assert again.status_code == 201, again.text
    assert answer(api, streamer, goal["id"], True).json()["error"]["code"] == "goal_ended"


def test_an_unanswered_invitation_is_refunded_at_its_exp(api, streamer):
    session = live(api, streamer)
    (viewer,) = viewers_with(api, 1)
    goal = invite(api, viewer, session).json()
    assert goal["exp"] - goal["created_at"] <= 6.5
    assert settlement(goal["id"]).outcome == "refund"
    assert goals.load(goal["id"]).ended_at >= goal["exp"] - 0.01
    wait_until(lambda: balance(api, viewer) == 1000, timeout=20, what="the refund")
    wait_until(lambda: session_of(api, streamer, session)["exclusive_goal_pairs"] == {}, what="the pair dropped")


def test_an_agreement_without_a_one_on_one_is_refunded_after_the_grace(api, streamer, pusher_socket):
    session = live(api, streamer)
    (viewer,) = viewers_with(api, 1)
    sock = pusher_socket(f"private-user@{viewer.id}")
    goal = invite(api, viewer, session).json()
    agreed = answer(api, streamer, goal["id"], True).json()
    assert agreed["refund_due_at"] == agreed["exp"] + 4
    too_late = api.call("POST", "/goals?type=exclusive", streamer, json={
        "context": {"session_id": session["id"], "trigger_exclusive_goal_id": goal["id"]}, "nbf": agreed["exp"] + 600})
    assert too_late.status_code == 400 and too_late.json()["error"]["details"][0]["loc"] == ["body", "nbf"]
    assert goals.load(goal["id"]).settlement is None  # not before exp + grace
    sock.wait_for("escrow.refunded", timeout=30)
    assert time.time() >= agreed["refund_due_at"] and balance(api, viewer) == 1000
    assert settlement(goal["id"]).outcome == "refund"
    state = session_of(api, streamer, session)
    assert state["status"]["exclusive_to"] == [] and state["exclusive_goal_pairs"] == {}
    assert state["viewers"] == {}  # the window the agreement granted is taken back with the refund
    late = start_exclusive(api, streamer, session, goal["id"])
    assert (late.status_code, late.json()["error"]["code"]) == (409, "exclusive_not_allowed")


def test_paying_for_minutes_extends_the_viewers_window(api, streamer, pusher_socket):
    session = live(api, streamer)
    (viewer,) = viewers_with(api, 1, diamonds=100)
    sock = pusher_socket(preview(streamer, viewer))

    def pay(seconds, **kw):
        return api.call("POST", f"/streams/{streamer.id}/pay", viewer, json={"duration": seconds}, **kw)

    first = pay(60, headers={"Idempotency-Key": "minute-1"})
    assert first.status_code == 201, first.text
    first = first.json()
    assert (first["amount"], first["session_id"], first["window"]["duration"]) == (45, session["id"], 60)
    assert pay(60, headers={"Idempotency-Key": "minute-1"}).json() == first  # a retry is paid once
    second = pay(30).json()  # 22.5 diamonds, rounded up
    assert second["amount"] == 23
    window = second["window"]
    assert window["nbf"] == first["window"]["nbf"] and window["duration"] == 90
    assert window["exp"] == pytest.approx(first["window"]["exp"] + 30)
    assert session_of(api, streamer, session)["viewers"][viewer.id] == window
    sock.wait_for("stream.authorized", where=lambda d: d["duration"] == 90)
    assert balance(api, viewer) == 100 - 45 - 23
    assert api.call("GET", "/wallet", streamer).json()["earnings"] == (45 - 45 * 30 // 100) + (23 - 23 * 30 // 100)

    broke = pay(3600)
    assert (broke.status_code, broke.json()["error"]["code"]) == (409, "insufficient_funds")
    assert balance(api, viewer) == 32 and session_of(api, streamer, session)["viewers"][viewer.id] == window
    api.call("DELETE", f"/sessions/{session['id']}", streamer)
    offline = pay(60)
    assert (offline.status_code, offline.json()["error"]["code"]) == (404, "stream_not_live")
    assert balance(api, viewer) == 32


def test_bad_invitations_and_answers_are_refused_and_change_nothing(api, streamer):
    session = live(api, streamer)
    viewer, stranger = viewers_with(api, 2)
    cases = [
        (invite(api, streamer, session), 409, "own_session"),
        (invite(api, viewer, session, prepaid=10), 400, "validation_error"),
        (invite(api, viewer, {"id": "0" * 24}), 404, "session_not_found"),
        (start_exclusive(api, viewer, session, "0" * 24), 403, "forbidden"),
    ]
    goal = invite(api, viewer, session).json()
    cases += [
        (invite(api, viewer, session), 409, "invitation_pending"),
        (api.call("DELETE", f"/goals/{goal['id']}", streamer), 400, "validation_error"),
        (api.call("DELETE", f"/goals/{goal['id']}", streamer, json={"agree": "yes"}), 400, "validation_error"),
        (answer(api, stranger, goal["id"], True), 403, "not_owner"),
        (answer(api, User.new("role:creator"), goal["id"], True), 403, "not_owner"),
        (start_exclusive(api, streamer, session, goal["id"]), 409, "exclusive_not_allowed"),
        (api.call("DELETE", f"/goals/{goal['id']}", viewer, json={"agree": True}), 400, "validation_error"),
        (api.call("GET", f"/goals/{goal['id']}", stranger), 404, "goal_not_found"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert balance(api, viewer) == 910 and goals.load(goal["id"]).active
    withdrawn = api.call("DELETE", f"/goals/{goal['id']}", viewer)  # the viewer takes it back
    assert withdrawn.status_code == 200, withdrawn.text
    assert settlement(goal["id"]).outcome == "refund"
    wait_until(lambda: balance(api, viewer) == 1000, timeout=20, what="the refund")


def test_two_agreements_racing_leave_one_one_on_one(api, streamer):
    import concurrent.futures

    session = live(api, streamer)
    viewers = viewers_with(api, 2)
    goal_ids = [invite(api, v, session).json()["id"] for v in viewers]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda g: answer(api, streamer, g, True), goal_ids))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200, 409], [r.text for r in answers]
    winner = goal_ids[[r.status_code for r in answers].index(200)]
    loser = goal_ids[1 - goal_ids.index(winner)]
    assert settlement(loser).outcome == "refund"  # superseded by the agreement
    assert session_of(api, streamer, session)["status"]["exclusive_to"] == [goals.load(winner).context.exclusive_to]


def test_the_one_on_one_flow_delivered_twice_changes_nothing_more(api, streamer, pusher_socket):
    """Every signal and task of a 1-on-1 redelivered through the emulators after the flow ran: an
    invitation superseded and refunded, one agreed and paid out by its 1-on-1, the 1-on-1's end.
    The same balances, earnings, window, pairs, RTC calls and Pusher events."""
    from shared.core import signals, steps, tasks
    from shared.goals.models import DeactivateGoalArgs, GoalIdArgs
    from shared.goals.tasks import CHECK_TRIGGER_EXCLUSIVE_GOAL_REFUNDABLE, DEACTIVATE_GOAL
    from shared.ledger.tasks import ESCROW_REFUND, UPDATE_BI_ESCROW, EscrowArgs, HoldArgs
    from shared.livestream.sources import SYNC_RTC_SNAPSHOT, SyncArgs

    session = live(api, streamer)
    room = f"room-{session['id']}"
    source = api.call("POST", f"/sessions/{session['id']}/sources", streamer, json={"room_id": room}).json()
    chosen, other = viewers_with(api, 2)
    chosen_sock = pusher_socket(preview(streamer, chosen), f"private-user@{chosen.id}")
    other_sock = pusher_socket(f"private-user@{other.id}")
    streamer_sock = pusher_socket(f"private-stream@{streamer.id}")
    kept, superseded = (invite(api, v, session).json() for v in (chosen, other))
    assert answer(api, streamer, kept["id"], True).status_code == 200
    exclusive = start_exclusive(api, streamer, session, kept["id"]).json()
    assert settlement(kept["id"]).outcome == "payout" and settlement(superseded["id"]).outcome == "refund"
    other_sock.wait_for("escrow.refunded")
    # the 1-on-1's start reached the sources before its end does (else its end finds nothing to start again)
    wait_until(lambda: [a for a, _ in rtc_calls(room)] == ["StartSnapshot", "StopSnapshot"], timeout=40,
               what="snapshots stopped for the 1-on-1")
    assert api.call("DELETE", f"/goals/{exclusive['id']}", streamer).status_code == 200
    chosen_sock.wait_for("stream.authorized", where=lambda d: d["exclusive"] is False)
    # a sync that finds the source claimed waits for Cloud Tasks' retry: give a loaded stack time
    try:
        wait_until(lambda: [a for a, _ in rtc_calls(room)] == ["StartSnapshot", "StopSnapshot", "StartSnapshot"],
                   timeout=40, what="the snapshot calls")
    except AssertionError:
        from shared.livestream import sources as rtc_sources

        raise AssertionError(f"snapshot calls: {rtc_calls(room)}; source: "
                             f"{rtc_sources.load(source['id']).model_dump()}") from None
    # past the check for an unused agreement (exp + 4 s), and what it did
    until(max(goals.load(goal["id"]).refund_due_at or 0 for goal in (kept, superseded)))
    settled()

    def observed() -> dict:
        return {
            "balances": [balance(api, v) for v in (chosen, other)],
            "earnings": api.call("GET", "/wallet", streamer).json()["earnings"],
            "session": {k: v for k, v in session_of(api, streamer, session).items() if k != "open_goals"},
            "rtc": rtc_calls(room),
            "events": (chosen_sock.count("stream.authorized"), chosen_sock.count("goal.ended"),
                       other_sock.count("escrow.refunded"), streamer_sock.count("goal.added"),
                       streamer_sock.count("goal.ended")),
        }

    before = observed()
    assert before["earnings"] == 90 - FEE and before["balances"] == [910, 1000]

    for goal_id in (kept["id"], superseded["id"], exclusive["id"]):
        goal = goals.load(goal_id)
        signals.publish("goal.created", goal.created_event())
        signals.publish("goal.ended", goal.ended_event())
        tasks.schedule(DEACTIVATE_GOAL, DeactivateGoalArgs(goal_id=goal_id), at=time.time())
    for goal_id in (kept["id"], superseded["id"]):
        tasks.schedule(CHECK_TRIGGER_EXCLUSIVE_GOAL_REFUNDABLE, GoalIdArgs(goal_id=goal_id), at=time.time())
    for goal_id, event in ((kept["id"], "escrow.succeeded"), (superseded["id"], "escrow.failed")):
        escrow_id = f"trigger_exclusive:{goal_id}"
        tasks.schedule(ESCROW_REFUND, EscrowArgs(escrow_id=escrow_id, event=event), at=time.time())
        for event_ in ("escrow.succeeded", "escrow.failed"):
            tasks.schedule(UPDATE_BI_ESCROW, HoldArgs(hold_id=escrow_id, event=event_), at=time.time())
    for change in range(3):
        tasks.schedule(SYNC_RTC_SNAPSHOT, SyncArgs(source_id=source["id"], change=change), at=time.time())

    receivers = ["set_embedded_goal_ended", "cleanup_expired_exclusive_goal_pairs", "notify_goal_ended",
                 "handle_trigger_private_goal_escrow", "trigger_exclusive_goal_escrow_refund",
                 "sync_trigger_goal_session_viewer", "notify_stream_authorized_for_agreed_trigger_goal"]
    wait_until(lambda: all((steps.stored(f"{r}@goal.ended:{kept['id']}") or {"repeats": 1}).get("repeats", 0) >= 1
                           for r in receivers) and
               (steps.stored(f"update_bi_escrow:trigger_exclusive:{kept['id']}") or {}).get("repeats", 0) >= 1,
               timeout=30, what="the repeated deliveries")
    settled()
    after = observed()
    assert after == before
    assert ledger.totals().balanced
