"""Aggregation types, with worked examples over a 30-day period (April 2024)."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bxb.billing.aggregation import (
    AggregationResult,
    AggregationType,
    UsageEvent,
    aggregate,
    parse_numeric,
)

START = datetime(2024, 4, 1, tzinfo=UTC)
END = datetime(2024, 5, 1, tzinfo=UTC)  # 30 days


def event(day: float, tx: str, **props: str | int | float | Decimal | None) -> UsageEvent:
    return UsageEvent(START + timedelta(days=day), props, tx)


def run(
    agg: AggregationType | str, events: list[UsageEvent], field: str | None = "gb", **kw: Decimal
) -> AggregationResult:
    return aggregate(agg, events, field, START, END, **kw)


# --- count_agg ---------------------------------------------------------------------------


def test_count_counts_events_in_period_only() -> None:
    events = [
        event(0, "a"),  # exactly at period_start: included
        event(3, "b", gb=5),
        event(29.9, "c"),
        event(30, "d"),  # exactly at period_end: excluded (half-open period)
        event(-0.1, "e"),  # before the period
    ]
    result = run(AggregationType.COUNT, events, field=None)
    # 3 events inside [Apr 1, May 1)
    assert result == AggregationResult(Decimal(3), 3, (Decimal(1),) * 3)


def test_count_with_no_events_is_zero() -> None:
    assert run("count_agg", [], field=None) == AggregationResult(Decimal(0), 0, ())


# --- sum_agg -----------------------------------------------------------------------------


def test_sum_adds_values_and_skips_missing() -> None:
    events = [
        event(1, "a", gb="10.5"),  # Lago sends strings
        event(2, "b", gb=4),
        event(3, "c", gb=0.25),  # float read through str: exactly 0.25
        event(4, "d"),  # no gb: skipped
        event(5, "e", gb=None),  # null gb: skipped
        event(6, "f", gb=Decimal("-2")),  # negative values are allowed (corrections)
    ]
    result = run(AggregationType.SUM, events)
    # 10.5 + 4 + 0.25 - 2 = 12.75
    assert result.value == Decimal("12.75")
    assert result.event_count == 4
    assert result.per_event_values == (Decimal("10.5"), Decimal(4), Decimal("0.25"), Decimal(-2))


def test_sum_per_event_values_are_chronological_with_ties_by_transaction_id() -> None:
    events = [event(2, "z", gb=1), event(1, "y", gb=2), event(2, "a", gb=3)]
    result = run(AggregationType.SUM, events)
    assert result.per_event_values == (Decimal(2), Decimal(3), Decimal(1))


def test_sum_rejects_non_numeric_with_clear_message() -> None:
    with pytest.raises(ValueError, match=r"event 'bad': property 'gb' must be numeric, got 'lots'"):
        run(AggregationType.SUM, [event(1, "ok", gb=1), event(2, "bad", gb="lots")])


def test_float_values_are_read_exactly() -> None:
    # 0.1 + 0.2 as floats is 0.30000000000000004; read through str it is exactly 0.3
    result = run(AggregationType.SUM, [event(1, "a", gb=0.1), event(2, "b", gb=0.2)])
    assert result.value == Decimal("0.3")


# --- max_agg -----------------------------------------------------------------------------


def test_max_takes_the_largest_value() -> None:
    events = [event(1, "a", gb="3"), event(2, "b", gb="17.5"), event(3, "c", gb=9), event(4, "d")]
    assert run(AggregationType.MAX, events) == AggregationResult(Decimal("17.5"), 3)


def test_max_without_values_is_zero() -> None:
    assert run(AggregationType.MAX, [event(1, "a", other=3)]) == AggregationResult(Decimal(0), 0)


def test_max_ignores_events_outside_period() -> None:
    events = [event(1, "a", gb=2), event(31, "late", gb=100)]
    assert run(AggregationType.MAX, events).value == Decimal(2)


# --- unique_count_agg --------------------------------------------------------------------


def test_unique_count_counts_distinct_values() -> None:
    events = [
        event(1, "a", gb="user-1"),
        event(2, "b", gb="user-2"),
        event(3, "c", gb="user-1"),  # seen already
        event(4, "d", gb=7),
        event(5, "e", gb="7"),  # same JSON text as 7
        event(6, "f"),  # missing: not a value
    ]
    # distinct: user-1, user-2, 7 → 3
    assert run(AggregationType.UNIQUE_COUNT, events) == AggregationResult(Decimal(3), 5)


# --- latest_agg --------------------------------------------------------------------------


def test_latest_takes_the_value_of_the_last_event() -> None:
    events = [event(5, "a", gb=50), event(9, "b", gb=12), event(2, "c", gb=99), event(10, "d")]
    # the event on day 10 has no gb, so day 9's value is the latest
    assert run(AggregationType.LATEST, events) == AggregationResult(Decimal(12), 3)


def test_latest_breaks_timestamp_ties_by_transaction_id() -> None:
    events = [event(9, "tx-b", gb=1), event(9, "tx-a", gb=2)]
    # same instant: the greater transaction id ("tx-b") is the latest, in any input order
    assert run(AggregationType.LATEST, events).value == Decimal(1)
    assert run(AggregationType.LATEST, events[::-1]).value == Decimal(1)


def test_latest_without_events_is_zero() -> None:
    assert run(AggregationType.LATEST, []).value == Decimal(0)


def test_latest_compares_instants_across_timezones() -> None:
    paris = timezone(timedelta(hours=2))
    early = UsageEvent(datetime(2024, 4, 10, 11, 0, tzinfo=paris), {"gb": 1}, "x")  # 09:00Z
    late = UsageEvent(datetime(2024, 4, 10, 10, 0, tzinfo=UTC), {"gb": 2}, "a")  # 10:00Z
    assert run(AggregationType.LATEST, [late, early]).value == Decimal(2)


# --- weighted_sum_agg --------------------------------------------------------------------


def test_weighted_sum_is_the_time_weighted_average_level() -> None:
    events = [
        event(0, "a", gb=10),  # level 10 from day 0
        event(10, "b", gb=20),  # level 30 from day 10
        event(20, "c", gb=-30),  # level 0 from day 20
    ]
    result = run(AggregationType.WEIGHTED_SUM, events)
    # (10 × 10 days + 30 × 10 days + 0 × 10 days) / 30 days = 400 / 30 = 13.333…
    assert result.value == Decimal(400) / Decimal(30)
    assert result.event_count == 3
    assert result.closing_level == Decimal(0)


def test_weighted_sum_starts_from_initial_value() -> None:
    events = [event(15, "a", gb=-4)]
    result = run(AggregationType.WEIGHTED_SUM, events, initial_value=Decimal(10))
    # 10 for 15 days, then 6 for 15 days → (150 + 90) / 30 = 8
    assert result.value == Decimal(8)
    assert result.closing_level == Decimal(6)


def test_weighted_sum_without_events_is_the_initial_level() -> None:
    assert run(AggregationType.WEIGHTED_SUM, []).value == Decimal(0)
    result = run(AggregationType.WEIGHTED_SUM, [], initial_value=Decimal("2.5"))
    assert result.value == Decimal("2.5")


def test_weighted_sum_counts_seconds_exactly() -> None:
    one_day_start = datetime(2024, 4, 1, tzinfo=UTC)
    one_day_end = datetime(2024, 4, 2, tzinfo=UTC)
    events = [UsageEvent(one_day_start + timedelta(seconds=21_600), {"gb": 4}, "a")]
    result = aggregate("weighted_sum_agg", events, "gb", one_day_start, one_day_end)
    # 0 for 6 h, then 4 for 18 h → 4 × 64 800 s / 86 400 s = 3
    assert result.value == Decimal(3)


def test_weighted_sum_ignores_events_outside_period() -> None:
    events = [event(-1, "before", gb=100), event(15, "a", gb=2), event(30, "after", gb=100)]
    # 0 for 15 days, 2 for 15 days → 1
    assert run(AggregationType.WEIGHTED_SUM, events).value == Decimal(1)


# --- validation --------------------------------------------------------------------------


def test_field_based_types_need_a_field_name() -> None:
    with pytest.raises(ValueError, match="sum_agg needs a field_name"):
        run(AggregationType.SUM, [], field=None)


def test_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="period_end must be after period_start"):
        aggregate("count_agg", [], None, END, START)


def test_unknown_aggregation_type() -> None:
    with pytest.raises(ValueError, match="median_agg"):
        run("median_agg", [])


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        UsageEvent(datetime(2024, 4, 1), {}, "naive")


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("1.5", Decimal("1.5")),
        (" 2 ", Decimal(2)),
        (3, Decimal(3)),
        (0.1, Decimal("0.1")),
        (Decimal("-4"), Decimal(-4)),
        ("1e3", Decimal(1000)),
    ],
)
def test_parse_numeric(raw: object, parsed: Decimal) -> None:
    assert parse_numeric(raw) == parsed


@pytest.mark.parametrize(
    "raw",
    ["abc", "", None, True, float("nan"), float("inf"), "Infinity", "NaN", [1], Decimal("NaN")],
)
def test_parse_numeric_rejects(raw: object) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_numeric(raw)


# --- properties --------------------------------------------------------------------------

amounts = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)
days = st.floats(min_value=-5, max_value=35, allow_nan=False)


@given(st.lists(st.tuples(days, amounts), max_size=20))
def test_sum_equals_sum_of_per_event_values(items: list[tuple[float, Decimal]]) -> None:
    events = [event(d, f"tx{i}", gb=a) for i, (d, a) in enumerate(items)]
    result = run(AggregationType.SUM, events)
    assert result.value == sum(result.per_event_values, Decimal(0))
    inside = [a for d, a in items if START <= START + timedelta(days=d) < END]
    assert result.value == sum(inside, Decimal(0))
    assert result.event_count == len(inside)


@given(st.lists(st.tuples(days, amounts), max_size=20))
def test_results_do_not_depend_on_event_order(items: list[tuple[float, Decimal]]) -> None:
    events = [event(d, f"tx{i}", gb=a) for i, (d, a) in enumerate(items)]
    for agg in AggregationType:
        assert run(agg, events) == run(agg, events[::-1])


@given(st.lists(st.tuples(st.floats(0, 29.99), st.decimals(0, 100, places=2)), max_size=20))
def test_weighted_sum_lies_between_min_and_max_level(items: list[tuple[float, Decimal]]) -> None:
    events = [event(d, f"tx{i}", gb=a) for i, (d, a) in enumerate(items)]
    result = run(AggregationType.WEIGHTED_SUM, events)
    # increments are >= 0, so the level climbs from 0 to the total
    total = sum((a for _, a in items), Decimal(0))
    assert Decimal(0) <= result.value <= total + Decimal("1e-20")
    assert result.closing_level == total
