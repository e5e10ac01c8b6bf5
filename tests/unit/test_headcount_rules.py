"""The head-count's rules as plain code: which webhook event, and which correction from Pusher's
list of members, changes what is kept for a viewer."""
from __future__ import annotations

from shared.realtime.headcount import BEFORE_ALL, applies, corrects

IN, OUT = True, False


def test_a_later_place_wins_and_an_earlier_or_repeated_one_changes_nothing():
    assert applies(IN, (5, 0), None, BEFORE_ALL)
    assert applies(OUT, (6, 0), ((5, 0), IN), BEFORE_ALL)
    assert applies(IN, (5, 1), ((5, 0), OUT), BEFORE_ALL)  # the next event of the same webhook
    assert not applies(IN, (4, 0), ((5, 0), OUT), BEFORE_ALL)  # late
    assert not applies(OUT, (5, 0), ((5, 0), OUT), BEFORE_ALL)  # duplicate
    assert not applies(IN, (5, 0), ((5, 0), IN), BEFORE_ALL)  # duplicate


def test_at_the_same_place_a_removal_wins():
    assert applies(OUT, (5, 0), ((5, 0), IN), BEFORE_ALL)
    assert not applies(IN, (5, 0), ((5, 0), OUT), BEFORE_ALL)


def test_a_vacancy_bars_earlier_arrivals_and_sweeps_only_those_before_it():
    assert not applies(IN, (9, 0), None, (10, 0))
    assert applies(IN, (10, 0), None, (10, 0))  # joined as the room emptied: after it
    assert applies(IN, (11, 0), ((8, 0), OUT), (10, 0))
    assert applies(OUT, (10, 0), ((8, 0), IN), (10, 0), sweep=True)
    assert not applies(OUT, (10, 0), ((10, 0), IN), (10, 0), sweep=True)
    assert not applies(OUT, (10, 0), ((12, 0), IN), (10, 0), sweep=True)


def test_pusher_s_list_corrects_only_what_no_deliverable_webhook_speaks_for():
    settled = (1000, 0)
    assert corrects(OUT, settled, ((900, 0), IN), BEFORE_ALL)  # a ghost: its removal was lost
    assert corrects(IN, settled, None, BEFORE_ALL)  # its arrival was lost
    assert corrects(IN, settled, ((900, 0), OUT), BEFORE_ALL)
    assert not corrects(OUT, settled, ((1000, 0), IN), BEFORE_ALL)  # a webhook may still remove them
    assert not corrects(IN, settled, ((1200, 0), OUT), BEFORE_ALL)
    assert not corrects(IN, settled, ((900, 0), IN), BEFORE_ALL)  # agrees
    assert not corrects(IN, settled, None, (1100, 0))  # the room emptied since: their arrival is on its way
