"""Leaderboards over HTTP: every diamond a viewer spends on a streamer counts on the session's board
and the streamer's day, week and all-time boards, net of refunds, exactly as the ledger has it;
pushed live on the stream channel; a spend delivered twice counts once."""
from __future__ import annotations

import concurrent.futures
import itertools
import time

import pytest

from shared.core import ids, signals
from shared.core.firestore import where
from shared.leaderboards import service as boards
from shared.ledger import book
from shared.ledger.models import wallet
from tests.e2e.helpers import buy, gift, post, provision, uploaded_image
from tests.support import User, create_funding_goal, marker, settled, start_session, wait_until

pytestmark = pytest.mark.stack
ROSE, FIREWORKS = "livestream-gift-rose_10", "livestream-gift-fireworks_500"


def ledger_spent(user: User) -> int:
    """What the ledger says left the user's wallet, less what came back to it (provisioning aside)."""
    mine = wallet(user.id).id
    out = sum(snap.get("amount") for snap in where(book.TRANSFERS, debit=mine).stream())
    back = sum(snap.get("amount") for snap in where(book.TRANSFERS, credit=mine).stream()
               if not snap.get("debit").startswith("issuance:"))
    return out - back


def board(api, caller: User, path: str, **query) -> dict[str, int]:
    response = api.call("GET", path, caller, params={"limit": 100, **query})
    assert response.status_code == 200, response.text
    return {s["user_id"]: s["amount"] for s in response.json()["supporters"]}


def every_board(api, caller: User, streamer: User, session_id: str) -> list[dict[str, int]]:
    return [board(api, caller, f"/sessions/{session_id}/leaderboard")] + [
        board(api, caller, f"/streamers/{streamer.id}/leaderboard", period=p) for p in ("day", "week", "all")]


def test_a_burst_of_concurrent_gifts_counts_exactly_what_the_ledger_moved(api, streamer, pusher_socket):
    session = start_session(api, streamer)
    channel = f"private-stream@{streamer.id}"
    sock = pusher_socket(channel)
    viewers = [User.new() for _ in range(12)]
    for viewer in viewers:
        provision(api, viewer, 5000)
    products = itertools.cycle([ROSE, ROSE, FIREWORKS, ROSE, ROSE])
    plans = {v.id: [(next(products), 1 + n % 3) for n in range(4)] for v in viewers}  # 48 gifts

    def send_all(viewer: User) -> list[dict]:  # viewers at once; each viewer's own gifts one after another
        return [gift(api, viewer, session["id"], product, quantity) for product, quantity in plans[viewer.id]]

    with concurrent.futures.ThreadPoolExecutor(len(viewers)) as pool:
        receipts = dict(zip([v.id for v in viewers], pool.map(send_all, viewers), strict=True))
    assert len({r["transfer_id"] for sent in receipts.values() for r in sent}) == 48
    expected = {v.id: ledger_spent(v) for v in viewers}
    assert expected == {v.id: sum(r["amount"] for r in receipts[v.id]) for v in viewers}

    got = wait_until(lambda: (b := every_board(api, viewers[0], streamer, session["id"]))
                     and all(x == expected for x in b) and b, timeout=30, what="the boards to match the ledger")
    assert got == [expected] * 4
    ranked = api.call("GET", f"/sessions/{session['id']}/leaderboard", streamer, params={"limit": 3}).json()
    assert [s["amount"] for s in ranked["supporters"]] == sorted(expected.values(), reverse=True)[:3]
    assert [s["rank"] for s in ranked["supporters"]] == [1, 2, 3] and ranked["board_id"] == f"session:{session['id']}"

    def final(data) -> bool:
        session_board = [b for b in data["boards"] if b["period"] == "session"]
        if not session_board:
            return False
        top = session_board[0]["supporters"]  # the first PUSH_TOP of them
        return [s["amount"] for s in top] == sorted(expected.values(), reverse=True)[:boards.PUSH_TOP] \
            and all(expected.get(s["user_id"]) == s["amount"] for s in top)

    pushes = [item for item in sock.received if item[2] == "leaderboard.updated"]
    try:
        sock.wait_for("leaderboard.updated", channel=channel, where=final, timeout=20)
    except AssertionError:
        raise AssertionError(f"expected {expected}, last pushed {pushes[-1][3] if pushes else None}") from None
    pushes = [item for item in sock.received if item[2] == "leaderboard.updated"]
    span = pushes[-1][0] - pushes[0][0]
    assert len(pushes) <= 3 * (span + 1), f"{len(pushes)} pushes in {span:.1f} s: at most a few a second"
    assert {b["period"] for b in pushes[-1][3]["boards"]} == {"session", "day", "week", "all"}


def test_a_ticket_refund_lowers_the_boards_to_the_net_spend(api, streamer):
    session = start_session(api, streamer)
    viewer, other = User.new(), User.new()
    provision(api, viewer, 1000)
    provision(api, other, 1000)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 4, target=100, hesitation=1)
    assert buy(api, viewer, session["id"], goal["id"], quantity=2).status_code == 201  # 2 x 89, held
    gift(api, viewer, session["id"], ROSE, 3)
    gift(api, other, session["id"], ROSE)
    wait_until(lambda: every_board(api, viewer, streamer, session["id"]) == [{viewer.id: 208, other.id: 10}] * 4,
               timeout=20, what="the ticket and gifts on the boards")

    # the pre-sale ends unmet: its refund voids the hold and takes the ticket off every board
    wait_until(lambda: every_board(api, viewer, streamer, session["id"]) == [{viewer.id: 30, other.id: 10}] * 4,
               timeout=45, what="the refund on the boards")
    assert (ledger_spent(viewer), ledger_spent(other)) == (30, 10)
    void = next(where(book.TRANSFERS, credit=wallet(viewer.id).id, debit=f"escrow:show_funding:{goal['id']}:diamond")
                .stream()).get("id")
    assert marker(f"count_diamonds_spent@diamonds.spent:{void}").get("flushed_at")


def test_a_spend_delivered_twice_counts_once_and_a_forged_one_not_at_all(api, streamer):
    session = start_session(api, streamer)
    viewer = User.new()
    provision(api, viewer, 500)
    receipt = gift(api, viewer, session["id"], FIREWORKS)
    counted = f"count_diamonds_spent@diamonds.spent:{receipt['transfer_id']}"
    wait_until(lambda: marker(counted).get("flushed_at"), what="the first delivery")
    expected = [{viewer.id: 500}] * 4
    assert every_board(api, viewer, streamer, session["id"]) == expected
    (published,) = [e["payload"] for e in marker(f"gift:{receipt['id']}")["effects"]
                    if e.get("sender") == "diamonds.spent"]
    assert published["amount"] == 500 and published["kind"] == "gift" and published["session_id"] == session["id"]

    signals.publish("diamonds.spent", published)
    signals.publish("diamonds.spent", published | {"amount": 9999})  # the same spend, whatever it claims
    forged = published | {"spend_id": f"gift:{ids.new_id()}", "amount": 700}  # no such ledger transfer
    signals.publish("diamonds.spent", forged)
    # a real transfer that is no spend of the supporter named (diamonds provisioned into their wallet)
    stranger = User.new()
    admin = User.new("role:admin")
    grant = api.call("POST", f"/admin/users/{stranger.id}/diamonds", admin, json={"amount": 5}).json()
    stolen = published | {"spend_id": grant["id"], "supporter_id": stranger.id, "amount": 5}
    signals.publish("diamonds.spent", stolen)
    wait_until(lambda: marker(counted).get("repeats", 0) >= 2, what="the repeats")
    settled()
    assert every_board(api, viewer, streamer, session["id"]) == expected
    assert marker(f"count_diamonds_spent@diamonds.spent:{forged['spend_id']}") == {}
    assert marker(f"count_diamonds_spent@diamonds.spent:{grant['id']}") == {}  # refused: not counted, no marker
    assert not boards.supporter_ref(f"session:{session['id']}", stranger.id).get().exists


def test_the_routes_answer_clear_errors(api, viewer):
    bad = api.call("GET", f"/streamers/{ids.new_id()}/leaderboard", viewer, params={"period": "month"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "validation_error")
    missing = api.call("GET", f"/sessions/{ids.new_id()}/leaderboard", viewer)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "session_not_found")
    empty = api.call("GET", f"/streamers/{ids.new_id()}/leaderboard", viewer, params={"period": "week",
                                                                                         "date": "2026-01-01"})
    assert empty.status_code == 200 and empty.json()["supporters"] == [] and empty.json()["key"] == "2026-W01"
    assert api.call("GET", f"/streamers/{ids.new_id()}/leaderboard").status_code == 401


def test_paid_minutes_invitations_and_unlocks_count_and_a_withdrawn_invitation_is_taken_back(api, streamer):
    session = start_session(api, streamer)  # sd: 30 diamonds a minute
    viewer = User.new()
    provision(api, viewer, 1000)
    paid = api.call("POST", f"/streams/{streamer.id}/pay", viewer, json={"duration": 60})
    assert paid.status_code == 201 and paid.json()["amount"] == 30, paid.text
    invited = api.call("POST", "/goals?type=trigger-exclusive", viewer,
                       json={"context": {"session_id": session["id"], "prepaid_duration": 120}})
    assert invited.status_code == 201 and invited.json()["prepaid"] == 60, invited.text
    wait_until(lambda: every_board(api, viewer, streamer, session["id"]) == [{viewer.id: 90}] * 4,
               timeout=20, what="paid minutes and the invitation's escrow on the boards")

    assert api.call("DELETE", f"/goals/{invited.json()['id']}", viewer).status_code == 200  # withdrawn: refunded
    wait_until(lambda: every_board(api, viewer, streamer, session["id"]) == [{viewer.id: 30}] * 4,
               timeout=30, what="the refunded invitation off the boards")

    created = post(api, streamer, [uploaded_image(api, streamer, thumbnail=False)], price=50)
    unlocked = wait_until(lambda: (r := api.call("POST", f"/posts/{created['id']}/unlock", viewer,
                                                  json={"cost": "Diamond"})).status_code == 201 and r,
                          timeout=20, what="the post to unlock")
    assert unlocked.json()["amount"] == 50
    # an unlock is no session's: it counts on the streamer's boards only
    wait_until(lambda: every_board(api, viewer, streamer, session["id"]) == [{viewer.id: 30}] + [{viewer.id: 80}] * 3,
               timeout=20, what="the unlock on the streamer's boards")
    assert ledger_spent(viewer) == 80
