"""The propagation index over transmission events."""

import random
from datetime import datetime, timedelta

import pytest

from ml.rare_trend import TransmissionEvent, propagation_index, propagation_summary


def chain(n, at=0.0):
    """A forwarded b, b forwarded c, ...: n people, depth n."""
    return [(k, k - 1 if k else None, f"person-{k}", at) for k in range(n)]


def star(n, at=0.0):
    """One person shared with n people directly: n people, depth 1."""
    return [(k, None, f"person-{k}", at, "share") for k in range(n)]


def test_no_events_no_propagation():
    assert propagation_index([]) == 0.0
    assert propagation_summary([]).recipients == 0


def test_a_star_counts_the_people_reached():
    summary = propagation_summary(star(10))
    assert (summary.recipients, summary.max_depth, summary.max_breadth, summary.index) == (10, 1, 10, 10.0)


def test_deeper_chains_score_more_than_stars_of_the_same_size():
    # hop k counts 1 + 0.5 (k - 1): 1 + 1.5 + 2 + 2.5 + 3 = 10 for five people
    assert propagation_index(chain(5)) == pytest.approx(10.0)
    assert propagation_index(chain(5)) > propagation_index(star(5))
    assert propagation_summary(chain(5)).max_depth == 5


def test_nobody_counts_twice():
    # the same person receiving the case three times counts once, at their best hop
    events = [(1, None, "a", 0.0), (2, 1, "b", 0.0), (3, None, "b", 0.0), (4, 2, "c", 0.0), (5, None, "c", 0.0)]
    summary = propagation_summary(events)
    assert summary.recipients == 3
    assert summary.index == pytest.approx(1 + 1.5 + 2)


def test_a_download_by_the_same_person_is_not_a_hop():
    events = [(1, None, "a", 0.0, "forward"), (2, 1, "a", 0.0, "download"), (3, 2, "b", 0.0, "forward")]
    summary = propagation_summary(events)
    assert summary.max_depth == 2
    assert summary.index == pytest.approx(1 + 1.5)


def test_one_half_life_halves_an_event():
    assert propagation_index(star(4, at=0.0), now=1.0, half_life=1.0) == pytest.approx(2.0)
    assert propagation_index(star(4, at=0.0), now=3.0, half_life=1.5) == pytest.approx(1.0)
    # an event time after `now` (clock skew) counts as now, never more
    assert propagation_index(star(4, at=5.0), now=1.0) == pytest.approx(4.0)


def test_datetimes_with_a_timedelta_half_life():
    start = datetime(2026, 11, 1, 8, 0)
    events = [TransmissionEvent(k, None, k, start) for k in range(3)]
    index = propagation_index(events, now=start + timedelta(days=2), half_life=timedelta(days=1))
    assert index == pytest.approx(0.75)


def test_order_does_not_matter_and_adding_never_lowers():
    rng = random.Random(5)
    events = [(k, rng.randrange(k) if k and rng.random() < 0.7 else None, rng.randrange(12), rng.random() * 3)
              for k in range(40)]
    shuffled = events[:]
    rng.shuffle(shuffled)
    assert propagation_index(events, now=3.0) == pytest.approx(propagation_index(shuffled, now=3.0))
    previous = 0.0
    for size in range(1, len(events) + 1):
        current = propagation_index(events[:size], now=3.0)
        assert current >= previous - 1e-12
        previous = current


def test_a_parent_outside_the_data_starts_a_chain():
    assert propagation_summary([(2, 1, "b", 0.0)]).max_depth == 1


def test_mappings_and_tuples_mean_the_same():
    as_dicts = [{"id": k, "parent": p, "recipient": r, "at": at} for k, p, r, at in chain(3)]
    assert propagation_index(as_dicts) == propagation_index(chain(3))


@pytest.mark.parametrize("events, kwargs, message", [
    ([(1, None, "a", 0.0), (1, None, "b", 0.0)], {}, "appears twice"),
    ([(1, 2, "a", 0.0), (2, 1, "b", 0.0)], {}, "cycle"),
    ([(1, None, "a", 0.0, "like")], {}, "kind"),
    ([(1, None, "a", float("nan"))], {}, "finite"),
    ([(1, None, "a", 0.0)], {"half_life": 0}, "positive"),
    ([(1, None, "a", datetime(2026, 1, 1)), (2, None, "b", 0.0)], {}, "mix"),
    ([(1, None, "a", 0.0)], {"half_life": timedelta(hours=1)}, "timedelta"),
    ([(1, None, "a", 0.0)], {"now": datetime(2026, 1, 1)}, "both"),
    ([(1, None)], {}, "id, parent, recipient, at"),
    ([{"id": 1, "recipient": "a", "at": 0.0}], {}, "lacks"),
])
def test_bad_tracking_data_is_refused(events, kwargs, message):
    with pytest.raises(ValueError, match=message):
        propagation_index(events, **kwargs)
