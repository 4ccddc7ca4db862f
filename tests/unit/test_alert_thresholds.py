"""Which thresholds a new reading crosses (Lago's rules), and the threshold checks."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from bxb.billing.alerts import (
    MAX_RECURRING_CROSSINGS,
    Crossing,
    Threshold,
    crossed,
    threshold_errors,
)

D = Decimal


def values(found: list[Crossing]) -> list[tuple[Decimal, bool]]:
    return [(c.value, c.recurring) for c in found]


def test_increasing_fires_each_threshold_in_the_interval_once() -> None:
    thresholds = [Threshold(D(1000), "warn"), Threshold(D(500), "notice")]
    assert values(crossed(thresholds, D(0), D(499), "increasing")) == []
    assert crossed(thresholds, D(0), D(500), "increasing") == [Crossing(D(500), "notice", False)]
    assert values(crossed(thresholds, D(500), D(1200), "increasing")) == [(D(1000), False)]
    assert values(crossed(thresholds, D(0), D(1200), "increasing")) == [
        (D(500), False),
        (D(1000), False),
    ]
    assert crossed(thresholds, D(1200), D(100), "increasing") == []  # going down fires nothing


def test_recurring_threshold_fires_at_each_multiple_past_the_last_one_time() -> None:
    thresholds = [Threshold(D(1000), "first"), Threshold(D(300), "every", recurring=True)]
    assert values(crossed(thresholds, D(0), D(1599), "increasing")) == [
        (D(1000), False),
        (D(1300), True),
    ]
    assert values(crossed(thresholds, D(1300), D(1900), "increasing")) == [
        (D(1600), True),
        (D(1900), True),
    ]
    # Alone, a recurring threshold counts from zero.
    only = [Threshold(D(250), None, recurring=True)]
    assert values(crossed(only, D(0), D(760), "increasing")) == [
        (D(250), True),
        (D(500), True),
        (D(750), True),
    ]
    assert crossed(only, D(750), D(760), "increasing") == []


def test_decreasing_fires_when_the_balance_falls_to_or_below() -> None:
    thresholds = [Threshold(D(1000), "low"), Threshold(D(200), "empty")]
    assert values(crossed(thresholds, D(5000), D(1000), "decreasing")) == [(D(1000), False)]
    assert values(crossed(thresholds, D(1000), D(150), "decreasing")) == [(D(200), False)]
    assert values(crossed(thresholds, D(5000), D(0), "decreasing")) == [
        (D(1000), False),
        (D(200), False),
    ]
    assert crossed(thresholds, D(150), D(5000), "decreasing") == []
    recurring = [Threshold(D(1000), "low"), Threshold(D(300), "step", recurring=True)]
    assert values(crossed(recurring, D(1100), D(350), "decreasing")) == [
        (D(1000), False),
        (D(700), True),
        (D(400), True),
    ]


def test_threshold_errors_are_lagos() -> None:
    assert threshold_errors([]) == {"thresholds": ["value_is_mandatory"]}
    many = [Threshold(D(i)) for i in range(21)]
    assert threshold_errors(many) == {"thresholds": ["too_many_thresholds"]}
    assert threshold_errors([Threshold(D(5)), Threshold(D(5), "x")]) == {
        "thresholds": ["duplicate_threshold_values"]
    }
    assert threshold_errors([Threshold(D(0), recurring=True)]) == {
        "thresholds:value": ["recurring_value_is_negative"]
    }
    assert threshold_errors([Threshold(D(5)), Threshold(D(5), recurring=True)]) == {}


@given(
    st.lists(st.integers(1, 5000), min_size=1, max_size=5, unique=True),
    st.integers(1, 700),
    st.lists(st.integers(0, 400), min_size=1, max_size=30),
)
def test_readings_in_steps_fire_what_one_jump_fires(
    one_time: list[int], step: int, increments: list[int]
) -> None:
    """Reading a growing value often or once crosses the same thresholds, each once.

    Within the cap: one jump over more than MAX_RECURRING_CROSSINGS multiples lists only
    the highest ones (by design, tested below), so such totals are left out here.
    """
    assume(sum(increments) // step <= MAX_RECURRING_CROSSINGS)
    thresholds = [Threshold(D(v)) for v in one_time] + [Threshold(D(step), recurring=True)]
    total, previous, fired = 0, D(0), []
    for increment in increments:
        total += increment
        fired += values(crossed(thresholds, previous, D(total), "increasing"))
        previous = D(total)
    at_once = values(crossed(thresholds, D(0), D(total), "increasing"))
    assert sorted(fired) == sorted(at_once)
    assert len({v for v, _ in fired}) == len(fired)


def test_a_huge_jump_lists_only_the_highest_multiples() -> None:
    found = crossed([Threshold(D(1), recurring=True)], D(0), D(10**9), "increasing")
    assert len(found) == 1000
    assert (found[0].value, found[-1].value) == (D(10**9 - 999), D(10**9))
