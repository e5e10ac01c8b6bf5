"""A session's 1-on-1 pairs against the Firestore emulator: the receivers that keep them may run
in any order (Pub/Sub keeps none), and a pair never stays behind to block the session."""
from __future__ import annotations

import pytest

from shared.core import ids
from shared.core.firestore import run_transaction
from shared.livestream import sessions

pytestmark = pytest.mark.stack


def agreed_pair(stack):
    session = sessions.start(ids.new_id(), "1-on-1")
    viewer, trigger, exclusive = ids.new_id(), ids.new_id(), ids.new_id()
    run_transaction(lambda txn: sessions.invite_exclusive(txn, session.id, viewer, trigger))
    run_transaction(lambda txn: sessions.agree_exclusive(txn, sessions.load(session.id, txn), viewer))
    return session.id, viewer, trigger, exclusive


def test_a_one_on_one_bound_then_ended_clears_its_pair(stack):
    session_id, viewer, trigger, exclusive = agreed_pair(stack)
    assert run_transaction(lambda txn: sessions.bind_exclusive_goal(txn, session_id, viewer, trigger, exclusive))
    assert run_transaction(lambda txn: sessions.exclusive_ended(txn, session_id, viewer, trigger, exclusive))
    session = sessions.load(session_id)
    assert session.exclusive_goal_pairs == {} and session.status.exclusive_to == []


def test_a_one_on_one_ended_before_it_was_bound_clears_its_pair_and_stays_cleared(stack):
    session_id, viewer, trigger, exclusive = agreed_pair(stack)
    assert run_transaction(lambda txn: sessions.exclusive_ended(txn, session_id, viewer, trigger, exclusive))
    assert not run_transaction(lambda txn: sessions.bind_exclusive_goal(txn, session_id, viewer, trigger, exclusive))
    session = sessions.load(session_id)
    assert session.exclusive_goal_pairs == {} and session.status.exclusive_to == []


def test_another_invitations_end_leaves_the_pair_alone(stack):
    session_id, viewer, trigger, exclusive = agreed_pair(stack)
    run_transaction(lambda txn: sessions.bind_exclusive_goal(txn, session_id, viewer, trigger, exclusive))
    assert not run_transaction(lambda txn: sessions.exclusive_ended(txn, session_id, viewer, ids.new_id(), exclusive))
    assert not run_transaction(lambda txn: sessions.exclusive_ended(txn, session_id, viewer, trigger, ids.new_id()))
    assert sessions.load(session_id).status.exclusive_to == [viewer]
