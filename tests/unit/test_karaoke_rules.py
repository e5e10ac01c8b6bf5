"""The karaoke queue and its goal's rules as plain code: one runs at a time in the order sent, the
next starts when the running one ends, ended ones are passed over, and what pays or refunds."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.core import firestore, ids, pusher
from shared.gifts.models import GiftProduct
from shared.goals.karaoke_rules import DONE_TOLERANCE, KaraokeQueue, advance, enqueue, performed, window
from shared.goals.models import (
    GOAL,
    GoalAlreadyEnded,
    KaraokeContext,
    KaraokeGoal,
    KaraokeNotRunning,
    OwnerMetadata,
    SessionConditions,
)

NOW = 1_800_000_000.0


def everyone_active(goal_id: str) -> bool:
    return True


def karaoke(duration: int = 30, **changes) -> KaraokeGoal:
    session_id = ids.new_id()
    return KaraokeGoal(
        id=ids.new_id(), active=True, levels=[], created_at=NOW, amount=100,
        conditions=SessionConditions(session_id=session_id), metadata=OwnerMetadata(user_id=ids.new_id()),
        context=KaraokeContext(session_id=session_id, product_id="karaoke-toy-30s", duration=duration,
                               sender_id=ids.new_id()), **changes)


def test_the_first_runs_at_once_and_the_others_wait_in_order():
    queue, starts = enqueue(KaraokeQueue(), "a")
    assert starts and queue == KaraokeQueue(running="a")
    queue, starts = enqueue(queue, "b")
    assert not starts
    queue, starts = enqueue(queue, "c")
    assert not starts and queue == KaraokeQueue(running="a", waiting=("b", "c"))
    with pytest.raises(ValueError):
        enqueue(queue, "b")


def test_the_next_starts_when_the_running_one_ends():
    queue = KaraokeQueue(running="a", waiting=("b", "c"))
    queue, started = advance(queue, "a", everyone_active)
    assert (queue, started) == (KaraokeQueue(running="b", waiting=("c",)), "b")
    queue, started = advance(queue, "b", everyone_active)
    assert (queue, started) == (KaraokeQueue(running="c"), "c")
    queue, started = advance(queue, "c", everyone_active)
    assert (queue, started) == (KaraokeQueue(), None)
    assert enqueue(queue, "d") == (KaraokeQueue(running="d"), True)  # an empty queue runs the next at once


def test_a_queued_goal_that_ended_leaves_without_starting_anything():
    queue = KaraokeQueue(running="a", waiting=("b", "c"))
    assert advance(queue, "b", everyone_active) == (KaraokeQueue(running="a", waiting=("c",)), None)


def test_ended_goals_are_passed_over_when_their_turn_comes():
    queue = KaraokeQueue(running="a", waiting=("b", "c", "d"))
    queue, started = advance(queue, "a", lambda goal_id: goal_id == "d")
    assert (queue, started) == (KaraokeQueue(running="d"), "d")
    queue = KaraokeQueue(running="a", waiting=("b",))
    assert advance(queue, "a", lambda goal_id: False) == (KaraokeQueue(), None)


def test_nothing_starts_once_the_session_is_over():
    queue = KaraokeQueue(running="a", waiting=("b", "c"))
    assert advance(queue, "a", everyone_active, session_live=False) == (KaraokeQueue(waiting=("b", "c")), None)


def test_a_repeated_end_changes_nothing():
    queue = KaraokeQueue(running="b", waiting=("c",))
    assert advance(queue, "a", everyone_active) == (queue, None)


@given(st.lists(st.sampled_from("abcdefgh"), unique=True, min_size=1), st.sets(st.sampled_from("abcdefgh")))
def test_goals_run_one_at_a_time_in_the_order_sent(sent, ended_early):
    queue = KaraokeQueue()
    for goal_id in sent:
        queue, _ = enqueue(queue, goal_id)
    ran = [queue.running]
    while queue.running:
        queue, started = advance(queue, queue.running, lambda g: g not in ended_early)
        if started:
            ran.append(started)
    assert queue == KaraokeQueue(running=None, waiting=())
    assert ran == [sent[0]] + [g for g in sent[1:] if g not in ended_early]


def test_the_queue_document_round_trips():
    queue = KaraokeQueue(running="a", waiting=("b", "c"))
    assert KaraokeQueue.from_document(queue.as_document()) == queue
    assert KaraokeQueue.from_document(None) == KaraokeQueue()


def test_what_pays_and_what_refunds():
    started = NOW
    assert window(NOW + 0.7, 30) == (int(NOW), int(NOW) + 30)
    assert performed(started, started + 30, 30, None, False)  # its duration passed
    assert performed(started, started + 30 - DONE_TOLERANCE, 30, None, False)  # its task a moment early
    assert not performed(started, started + 10, 30, None, False)  # the session ended first
    assert performed(started, started + 10, 30, started + 10, False)  # marked done early
    assert not performed(started, started + 10, 30, None, True)  # skipped while running
    assert not performed(None, NOW, 30, None, True)  # skipped while queued
    assert not performed(None, NOW, 30, None, False)  # never ran


def test_a_goal_starts_runs_and_is_marked_done():
    goal = karaoke(duration=30)
    assert not goal.running
    with pytest.raises(KaraokeNotRunning):
        goal.finish("done", NOW, "phone")
    running = goal.start(NOW)
    assert running.running and (running.nbf, running.exp) == (int(NOW), int(NOW) + 30)
    done, event = running.finish("done", NOW + 5, "phone")
    assert not done.active and done.done_at == NOW + 5 and done.performed and done.exp == int(NOW) + 5
    assert event.goal_id == done.id and event.context.type == "karaoke"
    with pytest.raises(GoalAlreadyEnded):
        done.finish("skip", NOW + 6, "phone")
    with pytest.raises(GoalAlreadyEnded):
        done.start(NOW + 6)


def test_a_skipped_goal_and_one_cut_short_are_refunded_one_that_ran_its_duration_pays():
    queued = karaoke()
    skipped, _ = queued.finish("skip", NOW, "phone")
    assert skipped.skipped and not skipped.performed
    cut, _ = karaoke(duration=30).start(NOW).end(NOW + 10, None)
    assert not cut.performed
    ran, _ = karaoke(duration=30).start(NOW).end(NOW + 30, None)
    assert ran.performed


def test_the_goal_document_and_its_notice():
    goal = karaoke().start(NOW)
    assert GOAL.validate_python({**firestore.document(goal), "id": goal.id}) == goal
    assert goal.escrow_id == f"karaoke:{goal.id}"
    notice = goal.notice(goal.owner)
    assert (notice.type, notice.started_at, notice.duration, notice.exp) == ("karaoke", NOW, 30, int(NOW) + 30)
    assert len(pusher.encode(notice.model_dump(mode="json", by_alias=True))) < 10_000
    assert "amount" not in goal.public().model_dump()


def test_a_karaoke_product_has_a_duration():
    assert GiftProduct(id="karaoke-toy-30s", name="toy", price=100, categories=["karaoke"], duration=30).is_karaoke
    with pytest.raises(ValueError, match="needs its duration"):  # it would pay out at once as a plain gift
        GiftProduct(id="karaoke-toy", name="toy", price=100, categories=["karaoke"])
    assert not GiftProduct(id="livestream-gift-rose_10", name="Rose", price=10, categories=["livestream"]).is_karaoke
