"""The leaderboards' plain rules: which boards a spend counts on, period keys, push windows, events."""
from __future__ import annotations

import datetime

import pytest
from pydantic import ValidationError

from shared.core import ids, pusher
from shared.core.steps import Effects
from shared.leaderboards import rules
from shared.leaderboards.models import BoardTop, LeaderboardUpdated, StreamerLeaderboardQuery, Supporter
from shared.ledger.spending import DIAMONDS_SPENT, DiamondsSpent, spent, unlocked

# 2026-12-31 23:59:59 UTC: a Thursday of ISO week 53 of 2026
LAST_SECOND = datetime.datetime(2026, 12, 31, 23, 59, 59, tzinfo=datetime.UTC).timestamp()


def spend(**changes) -> DiamondsSpent:
    fields = dict(spend_id="gift:" + ids.new_id(), supporter_id=ids.new_id(), streamer_id=ids.new_id(),
                  session_id=ids.new_id(), amount=10, kind="gift", at=LAST_SECOND)
    return DiamondsSpent(**(fields | changes))


def test_period_keys_are_utc_days_and_iso_weeks():
    assert rules.period_key("day", LAST_SECOND) == "2026-12-31"
    assert rules.period_key("day", LAST_SECOND + 1) == "2027-01-01"
    assert rules.period_key("week", LAST_SECOND) == "2026-W53"
    assert rules.period_key("week", LAST_SECOND + 1) == "2026-W53"  # 1 January 2027 is in 2026's last ISO week
    assert rules.period_key("week", datetime.date(2027, 1, 4)) == "2027-W01"
    assert rules.period_key("all", LAST_SECOND) is None


def test_a_spend_counts_on_its_session_and_its_streamers_three_boards():
    made = spend()
    assert rules.boards(made) == [f"session:{made.session_id}", f"streamer:{made.streamer_id}:day:2026-12-31",
                                  f"streamer:{made.streamer_id}:week:2026-W53", f"streamer:{made.streamer_id}:all"]
    unlock = spend(session_id=None, kind="unlock")
    assert [b.split(":")[0] for b in rules.boards(unlock)] == ["streamer"] * 3


def test_a_refund_counts_on_the_boards_of_the_spend_it_refunds():
    bought = spend()
    refund = spend(spend_id=bought.spend_id + ":void", supporter_id=bought.supporter_id, streamer_id=bought.streamer_id,
                   session_id=bought.session_id, amount=-bought.amount, kind="refund", at=bought.at)
    assert rules.boards(refund) == rules.boards(bought)


def test_push_windows_end_after_the_commit_and_are_few_per_second():
    now = 1_800_000_000.3
    window = rules.push_window(now)
    assert 0 < rules.window_end(window) - now <= rules.PUSH_SLACK_WINDOWS * rules.PUSH_SECONDS
    pushes = {rules.push_window(now + i / 1000) for i in range(1000)}  # a spend every ms for one second
    assert len(pushes) <= 1 / rules.PUSH_SECONDS + 1


def test_spends_publish_through_the_signal_and_a_zero_or_non_diamond_one_does_not():
    fx = Effects()
    made = spend()
    spent(fx, made.spend_id, made.supporter_id, made.streamer_id, made.session_id, 0, "gift", made.at)
    assert fx.items == []
    spent(fx, made.spend_id, made.supporter_id, made.streamer_id, made.session_id, 10, "gift", made.at)
    assert fx.items[0]["sender"] == DIAMONDS_SPENT.sender and fx.items[0]["payload"]["amount"] == 10
    assert DIAMONDS_SPENT.event_id(made) == f"diamonds.spent:{made.spend_id}"

    class Unlock:
        transfer_id, viewer_id, amount, at = "unlock:p:v", ids.new_id(), 30, LAST_SECOND

    more = Effects()
    unlocked(more, Unlock, ids.new_id(), "point")
    assert more.items == []
    unlocked(more, Unlock, ids.new_id(), "diamond")
    assert more.items[0]["payload"]["kind"] == "unlock" and more.items[0]["payload"]["session_id"] is None


def test_bad_periods_and_ids_are_refused():
    with pytest.raises(ValidationError):
        StreamerLeaderboardQuery.model_validate({"period": "month"})
    with pytest.raises(ValidationError):
        StreamerLeaderboardQuery.model_validate({"limit": 101})
    with pytest.raises(ValidationError):
        spend(supporter_id="not-an-id")
    assert StreamerLeaderboardQuery.model_validate({}).period == "all"


def test_a_full_push_stays_far_below_pushers_limit():
    boards = [BoardTop(board_id=f"streamer:{ids.new_id()}:week:2026-W53", period="week",
                       supporters=[Supporter(rank=r, user_id=ids.new_id(), amount=10**12) for r in range(1, 11)])] * 4
    event = LeaderboardUpdated(streamer_id=ids.new_id(), session_id=ids.new_id(), window=10**10, boards=boards)
    assert len(pusher.encode(event.model_dump(mode="json"))) < pusher.MAX_EVENT_BYTES / 2
