"""The feed rules without I/O: the s_score formula, the order and ranks of a generation, cursors,
when a feed is rebuilt and which generations are deleted."""
from __future__ import annotations

import math

import pytest

from shared.core.errors import ValidationFailed
from shared.feeds import rules
from shared.feeds.models import FeedItem

GEN, OTHER = "a" * 24, "b" * 24
HOUR = 3600.0


def item(item_id: str, score: float) -> FeedItem:
    return FeedItem(id=item_id, kind="livestream", user_id="u" + item_id, rank="", metadata={"s_score": score})


def test_s_score_is_engagement_times_freshness():
    assert rules.s_score(age=0, half_life=HOUR) == 1.0  # nothing yet, brand new
    expected = 1 + 3 * math.log1p(4) + 2 * math.log1p(10) + 2 * math.log1p(1) + math.log1p(7)
    assert rules.s_score(age=0, half_life=HOUR, tickets=4, gifts=10, unlocks=1, viewers=7) == pytest.approx(expected)
    assert rules.s_score(age=HOUR, half_life=HOUR, tickets=4) == pytest.approx((1 + 3 * math.log1p(4)) / 2)
    assert rules.s_score(age=-5, half_life=HOUR) == 1.0  # a clock a little ahead does not make anything fresher


def test_paid_engagement_outweighs_a_head_in_the_room_and_freshness_fades():
    one_ticket = rules.s_score(age=0, half_life=HOUR, tickets=1)
    one_viewer = rules.s_score(age=0, half_life=HOUR, viewers=1)
    assert one_ticket > one_viewer > rules.s_score(age=0, half_life=HOUR)
    assert rules.s_score(age=10 * HOUR, half_life=HOUR, tickets=100) < rules.s_score(age=0, half_life=HOUR)
    # more of anything never lowers the score
    scores = [rules.s_score(age=60, half_life=HOUR, viewers=n) for n in range(20)]
    assert scores == sorted(scores)


def test_metadata_uses_the_half_life_of_its_kind():
    live, post = rules.metadata("livestream", age=2 * HOUR), rules.metadata("posts", age=2 * HOUR)
    assert live.s_score == pytest.approx(0.5) and post.s_score > live.s_score and live.age_seconds == 2 * HOUR


def test_a_generation_is_ranked_by_score_ties_by_id():
    ranked = rules.ranked([item("c", 1.0), item("a", 2.0), item("b", 1.0), item("d", 0.5)])
    assert [(i.id, i.rank) for i in ranked] == [("a", "000000"), ("b", "000001"), ("c", "000002"), ("d", "000003")]
    assert [i.rank for i in ranked] == sorted(i.rank for i in ranked)  # the rank key sorts as the order does
    assert rules.rank_key(12) < rules.rank_key(100)


def test_cursors_name_their_generation_phase_and_rank():
    made = rules.cursor(GEN, rules.ALL, "000019")
    assert made == f"{GEN}.a000019" and rules.parse_cursor(made, followed=False) == (GEN, "a", "000019")
    assert rules.parse_cursor(f"{GEN}.f000003", followed=True) == (GEN, "f", "000003")
    assert rules.parse_cursor(f"{GEN}.r000003", followed=True) == (GEN, "r", "000003")
    for bad, followed in [("nope", False), (f"{GEN}.a19", False), (f"{GEN[:-1]}.a000019", False),
                          (f"{GEN}.x000019", False), (f"{GEN}.a000019\n", False),
                          (f"{GEN}.a000019", True), (f"{GEN}.f000019", False)]:
        with pytest.raises(ValidationFailed) as refused:
            rules.parse_cursor(bad, followed)
        assert refused.value.details[0]["loc"] == ["query", "cursor"], bad


def test_a_feed_is_rebuilt_when_new_dirty_or_stale():
    now = 10_000.0
    assert rules.due({}, now)
    fresh = {"current": GEN, "built_at": now - 5, "read_at": now - 6}
    assert not rules.due(fresh, now)
    assert rules.due({**fresh, "dirty_at": now - 1}, now)
    assert not rules.due({**fresh, "dirty_at": now - 7}, now)  # marked before the current one's inputs were read
    assert rules.due({**fresh, "built_at": now - rules.REFRESH_SECONDS}, now)


def test_generations_older_than_the_previous_one_go_once_kept_long_enough():
    now = 100_000.0
    keep = rules.KEEP_SECONDS
    pointer = {"current": "g4", "previous": "g3", "generations": {
        "g1": {"started_at": 1, "built_at": 2, "retired_at": now - keep - 1},  # long swapped out
        "g2": {"started_at": 1, "built_at": 2, "retired_at": now - 5},  # a reader may still page it
        "g3": {"started_at": 1, "built_at": 2, "retired_at": now - keep * 9},  # the previous one: kept
        "g4": {"started_at": 1, "built_at": 2},
        "g5": {"started_at": now - keep - 1},  # a rebuild that died before its swap
        "g6": {"started_at": now - 1},  # a rebuild under way
    }}
    assert rules.expired(pointer, now) == ["g1", "g5"]
    assert rules.expired({}, now) == []
