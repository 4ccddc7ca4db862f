"""Which thresholds a lifetime usage crossed, how far along it is, and what later fees
of a period deduct (billing.progressive)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bxb.billing.progressive import Threshold, completions, crossed, deductions

TEN = Threshold("ten", 1000)
FIFTY = Threshold("fifty", 5000)
EVERY_20 = Threshold("every20", 2000, recurring=True)
NOW = datetime(2026, 3, 10, tzinfo=UTC)


def levels(billed: int, lifetime: int, *thresholds: Threshold) -> list[tuple[str, int]]:
    return [(c.threshold.id, c.level_cents) for c in crossed(thresholds, billed, lifetime)]


def test_fixed_thresholds_are_crossed_once() -> None:
    assert levels(0, 999, TEN, FIFTY) == []
    assert levels(0, 1000, TEN, FIFTY) == [("ten", 1000)]
    assert levels(1000, 4999, TEN, FIFTY) == []
    assert levels(0, 6000, TEN, FIFTY) == [("ten", 1000), ("fifty", 5000)]
    assert levels(6000, 90000, TEN, FIFTY) == []


def test_the_recurring_threshold_steps_beyond_the_largest_fixed_one() -> None:
    # Steps at $30, $50, $70 ... after the fixed $10.
    assert levels(0, 2999, TEN, EVERY_20) == [("ten", 1000)]
    assert levels(1200, 3200, TEN, EVERY_20) == [("every20", 3000)]
    assert levels(3200, 4999, TEN, EVERY_20) == []
    assert levels(3200, 5700, TEN, EVERY_20) == [("every20", 5000)]
    # Several steps at once count once, at the highest.
    assert levels(0, 9100, TEN, EVERY_20) == [("ten", 1000), ("every20", 9000)]
    # Alone, from zero.
    assert levels(0, 1999, EVERY_20) == []
    assert levels(0, 2000, EVERY_20) == [("every20", 2000)]
    assert levels(5000, 5900, EVERY_20) == []


def test_usage_below_what_was_billed_crosses_nothing() -> None:
    assert levels(5000, 4000, TEN, EVERY_20) == []


@given(
    st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=30),
    st.integers(min_value=1, max_value=3000),
)
def test_each_level_is_billed_at_most_once(increments: list[int], step: int) -> None:
    """Usage growing in any increments: the levels crossed never repeat, and every level
    up to the final usage is reached by some crossing."""
    thresholds = (TEN, Threshold("every", step, recurring=True))
    billed, usage, seen = 0, 0, []
    for increment in increments:
        usage += increment
        found = crossed(thresholds, billed, usage)
        seen += [c.level_cents for c in found]
        if found:
            billed = usage
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    if usage >= 1000:
        assert seen[0] == 1000
        top = 1000 + (usage - 1000) // step * step
        assert seen[-1] == top


def test_completions_follow_lagos_shape() -> None:
    reached = {1000: datetime(2026, 3, 5, tzinfo=UTC), 5000: datetime(2026, 3, 9, tzinfo=UTC)}
    lines = completions((TEN, EVERY_20), 6000, reached, NOW)
    assert [(c.amount_cents, c.completion_ratio, c.reached_at) for c in lines] == [
        (1000, 1.0, reached[1000]),
        (3000, 1.0, reached[5000]),  # crossed within the invoice that billed $50
        (5000, 1.0, reached[5000]),
        (7000, 0.5, None),
    ]
    # Before the fixed thresholds are all crossed, the recurring one shows its first step.
    lines = completions((TEN, FIFTY, EVERY_20), 3000, {}, NOW)
    assert [(c.amount_cents, c.completion_ratio, c.reached_at) for c in lines] == [
        (1000, 1.0, NOW),
        (5000, 0.5, None),
        (7000, 0.0, None),
    ]
    assert completions((), 3000, {}, NOW) == []


def test_completions_of_a_tiny_recurring_step_stay_short() -> None:
    lines = completions((Threshold("cent", 1, recurring=True),), 10**9, {}, NOW)
    assert len(lines) == 101
    assert lines[-1].amount_cents == 10**9 + 1


def test_deductions_never_exceed_the_fee() -> None:
    assert deductions({"a": 6000, "b": 300, "c": 0}, {"a": 5700, "b": 400, "d": 50}) == {
        "a": 5700,
        "b": 300,
        "c": 0,
    }
