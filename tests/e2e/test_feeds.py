"""Feeds end to end: the livestream feed lists live sessions with their pre-sale (goal.added ->
generate_livestream_feed), the posts feed published posts, both by metadata.s_score; a reader
paging with a cursor keeps to its generation while new ones are swapped in; followed streamers
come first; repeated deliveries change nothing."""
from __future__ import annotations

import time

import pytest

from shared.core import clock, signals
from shared.feeds import rules, service, sources
from tests.e2e.helpers import buy, gift, post, provision, ready, uploaded_image
from tests.support import User, create_funding_goal, marker, start_session, wait_until

pytestmark = pytest.mark.stack


def read_all(api, user, kind: str, limit: int = 3, followed: bool = False, cursor: str | None = None):
    """Every page from `cursor` (or the first page): the items in order and each page's generation."""
    items, generations = [], []
    while True:
        query = {"limit": limit, **({"followed": "true"} if followed else {}), **({"cursor": cursor} if cursor else {})}
        answer = api.call("GET", f"/feeds/{kind}", user, params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["items"]) <= limit
        items += body["items"]
        generations.append(body["generation"])
        cursor = body["next_cursor"]
        if not cursor:
            return items, generations


def in_feed(api, user, kind: str, item_id: str, where=lambda item: True, timeout: float = 30):
    def found():
        items, _ = read_all(api, user, kind, limit=50)
        return next((i for i in items if i["id"] == item_id and where(i)), None)

    return wait_until(found, timeout=timeout, interval=0.5, what=f"{item_id} in the {kind} feed")


def assert_ordered(items):
    scores = [i["metadata"]["s_score"] for i in items]
    assert scores == sorted(scores, reverse=True), scores
    assert [i["rank"] for i in items] == sorted(i["rank"] for i in items)
    assert len({i["id"] for i in items}) == len(items)


def test_goal_added_puts_the_session_in_the_livestream_feed_once(api, streamer, viewer):
    session = start_session(api, streamer)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 300, target=7)
    item = in_feed(api, viewer, "livestream", session["id"], where=lambda i: i["funding_goal_id"] == goal["id"])
    assert item["user_id"] == streamer.id and item["live"] is True and item["kind"] == "livestream"
    assert (item["progress"], item["target"], item["head_count"]) == (0, 7, 0)
    assert item["metadata"]["s_score"] > 0
    key = f"generate_livestream_feed@goal.added:{goal['id']}"
    wait_until(lambda: marker(key).get("flushed_at"), what="generate_livestream_feed to apply")

    # goal.added delivered again: the same payload and event id; the feed's items stay as they were
    gen = service.pointer("livestream")["current"]
    before = service.generation_items("livestream", gen)
    added = next(e for e in marker(f"bind_show_goals_to_session@goal.created:{goal['id']}")["effects"]
                 if e.get("sender") == "goal.added")
    signals.publish("goal.added", added["payload"])
    wait_until(lambda: marker(key).get("repeats", 0) >= 1, what="the repeat delivery")
    assert service.generation_items("livestream", gen) == before

    items, _ = read_all(api, viewer, "livestream", limit=50)
    assert_ordered(items)
    # the session's end shows in its item, and the next generation drops it
    assert api.call("DELETE", f"/sessions/{session['id']}", streamer).status_code == 200
    wait_until(lambda: all(i["id"] != session["id"] for i in read_all(api, viewer, "livestream", limit=50)[0]),
               timeout=30, interval=0.5, what="the ended session to leave the feed")


def test_a_reader_keeps_its_generation_while_new_ones_are_swapped_in(api, viewer):
    streamers = [User.new("role:creator") for _ in range(5)]
    started = [start_session(api, s)["id"] for s in streamers]
    for session_id in started:
        in_feed(api, viewer, "livestream", session_id)
    first = api.call("GET", "/feeds/livestream", viewer, params={"limit": 2}).json()
    gen, cursor = first["generation"], first["next_cursor"]
    assert cursor and cursor.startswith(f"{gen}.a") and len(first["items"]) == 2

    # a new session and two new generations while the reader is on its second page
    late = start_session(api, User.new("role:creator"))["id"]
    service.rebuild("livestream")
    rest, generations = read_all(api, viewer, "livestream", limit=2, cursor=cursor)
    service.rebuild("livestream")
    assert set(generations) == {gen}
    seen = first["items"] + rest
    # none twice, none missing
    assert [i["id"] for i in seen] == [i.id for i in service.generation_items("livestream", gen)]
    assert_ordered(seen)
    assert late not in {i["id"] for i in seen}
    fresh = in_feed(api, viewer, "livestream", late)  # a reader starting now gets a newer generation
    assert fresh["rank"]
    assert api.call("GET", "/feeds/livestream", viewer, params={"limit": 2}).json()["generation"] != gen

    # once neither current nor previous and kept long enough, the generation is deleted
    service.rebuild("livestream")
    gone = service.cleanup("livestream", now=clock.now() + rules.KEEP_SECONDS + 1)
    assert gen in gone and not service.generation_items("livestream", gen)
    expired = api.call("GET", "/feeds/livestream", viewer, params={"cursor": cursor})
    assert (expired.status_code, expired.json()["error"]["code"]) == (400, "cursor_expired")
    assert service.pointer("livestream")["current"] not in gone


def test_followed_streamers_come_first(api, viewer):
    followed, other = User.new("role:creator"), User.new("role:creator")
    mine = start_session(api, followed)["id"]
    theirs = start_session(api, other)["id"]
    for session_id in (mine, theirs):
        in_feed(api, viewer, "livestream", session_id)

    assert api.call("POST", f"/users/{viewer.id}/follow", viewer).status_code == 400
    first = api.call("POST", f"/users/{followed.id}/follow", viewer)
    again = api.call("POST", f"/users/{followed.id}/follow", viewer)
    assert first.status_code == 200 and again.json() == first.json() and first.json()["following"] is True

    items, _ = read_all(api, viewer, "livestream", limit=2, followed=True)
    assert items[0]["id"] == mine and len({i["id"] for i in items}) == len(items)
    everything, _ = read_all(api, viewer, "livestream", limit=50)
    assert sorted(i["id"] for i in items) == sorted(i["id"] for i in everything)
    assert_ordered(items[1:])  # the rest keeps its order
    # someone else's followed feed is everyone's
    stranger, _ = read_all(api, User.new(), "livestream", limit=50, followed=True)
    assert [i["id"] for i in stranger] == [i["id"] for i in everything]

    gone = api.call("DELETE", f"/users/{followed.id}/follow", viewer)
    assert gone.status_code == 200 and gone.json() == {"streamer_id": followed.id, "following": False, "since": None}
    assert api.call("DELETE", f"/users/{followed.id}/follow", viewer).status_code == 200
    after, _ = read_all(api, viewer, "livestream", limit=50, followed=True)
    assert [i["id"] for i in after] == [i["id"] for i in read_all(api, viewer, "livestream", limit=50)[0]]


def test_a_published_post_joins_the_posts_feed(api, viewer):
    creator = User.new("role:creator")
    made = post(api, creator, [uploaded_image(api, creator)], price=None)
    ready(api, creator, made["id"])
    item = in_feed(api, viewer, "posts", made["id"])
    assert (item["user_id"], item["caption"], item["pricing"], item["kind"]) == (creator.id, "hello", "free", "posts")
    assert marker(f"add_post_to_feed@post.ready:{made['id']}").get("applied_at")
    items, _ = read_all(api, viewer, "posts", limit=4)
    assert_ordered(items)


def test_bad_kinds_and_cursors_are_refused(api, viewer):
    gen = "c" * 24
    for path, params in [("/feeds/nope", {}), ("/feeds/livestream", {"cursor": "x"}),
                         ("/feeds/livestream", {"cursor": f"{gen}.f000001"}),
                         ("/feeds/livestream", {"followed": "true", "cursor": f"{gen}.a000001"}),
                         ("/feeds/livestream", {"limit": 0})]:
        answer = api.call("GET", path, viewer, params=params)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "validation_error"), (path, params)
    unknown = api.call("GET", "/feeds/posts", viewer, params={"cursor": f"{gen}.a000001"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "cursor_expired")


def test_tickets_show_at_once_and_gifts_count_in_the_next_generation(api, streamer, viewer):

    session = start_session(api, streamer)
    goal = create_funding_goal(api, streamer, session["id"], int(time.time()) + 300, target=7)
    in_feed(api, viewer, "livestream", session["id"], where=lambda i: i["funding_goal_id"] == goal["id"])
    fan = User.new()
    provision(api, fan, 1000)
    assert buy(api, fan, session["id"], goal["id"], quantity=2).status_code == 201
    # the ticket sold updates the item in place, in the generation already being read
    gen = service.pointer("livestream")["current"]
    wait_until(lambda: next(i for i in service.generation_items("livestream", gen)
                            if i.id == session["id"]).progress == 2
               or service.pointer("livestream")["current"] != gen, timeout=20, what="the ticket in the feed")
    for _ in range(3):
        gift(api, fan, session["id"])
    wait_until(lambda: sources.gifts_in(session["id"]) == 3, timeout=20, what="the gifts counted")
    item = in_feed(api, viewer, "livestream", session["id"], where=lambda i: i["metadata"].get("gifts") == 3)
    assert item["metadata"]["tickets"] == 2 and item["progress"] == 2
