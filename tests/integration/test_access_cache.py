"""The access cache against the Firestore emulator: an answer is served until it lapses or who
may watch changes, and a reader never stores an answer computed before an invalidation."""
from __future__ import annotations

import pytest

from shared import access_cache as cache
from shared.core import clock, ids
from shared.core.firestore import run_transaction

pytestmark = pytest.mark.stack


def drop(session_id: str, viewer_id: str | None = None) -> None:
    run_transaction(lambda txn: cache.invalidate_get_session_token_view_cache(txn, session_id, viewer_id))


def test_an_answer_is_served_until_it_lapses_or_is_dropped(stack):
    session, viewer, other = ids.new_id(), ids.new_id(), ids.new_id()
    seen = cache.read(session, viewer)
    assert seen.hit(cache.TOKEN_VIEW) is None
    assert cache.store(session, viewer, cache.TOKEN_VIEW, {"token": "a"}, clock.now() + 60, seen)
    assert cache.read(session, viewer).hit(cache.TOKEN_VIEW) == {"token": "a"}
    assert cache.read(session, viewer).hit(cache.CHANNEL_DATA) is None  # each kind on its own

    drop(session, other)  # another viewer's change leaves this answer alone
    assert cache.read(session, viewer).hit(cache.TOKEN_VIEW) == {"token": "a"}
    drop(session, viewer)
    assert cache.read(session, viewer).hit(cache.TOKEN_VIEW) is None

    seen = cache.read(session, viewer)
    assert cache.store(session, viewer, cache.TOKEN_VIEW, {"token": "b"}, clock.now() + 60, seen)
    drop(session)  # the whole session's answers
    assert cache.read(session, viewer).hit(cache.TOKEN_VIEW) is None

    seen = cache.read(session, viewer)
    assert cache.store(session, viewer, cache.TOKEN_VIEW, {"token": "c"}, clock.now() - 1, seen)
    assert cache.read(session, viewer).hit(cache.TOKEN_VIEW) is None  # lapsed


@pytest.mark.parametrize("whole_session", [False, True])
def test_an_answer_computed_before_an_invalidation_is_not_stored(stack, whole_session):
    session, viewer = ids.new_id(), ids.new_id()
    seen = cache.read(session, viewer)  # a reader starts computing...
    drop(session, None if whole_session else viewer)  # ...while a refund changes who may watch
    assert not cache.store(session, viewer, cache.TOKEN_VIEW, {"token": "stale"}, clock.now() + 60, seen)
    assert cache.read(session, viewer).hit(cache.TOKEN_VIEW) is None
