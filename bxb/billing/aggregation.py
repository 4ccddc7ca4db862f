"""Lago's six aggregation types over the events of one billing period, in memory.

Every type looks only at events whose timestamp lies in ``[period_start, period_end)``;
events are ordered by ``(timestamp, transaction_id)`` so that equal timestamps still give
one answer, whatever order the events came in. Values stay ``Decimal``; nothing is rounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

PropertyValue = str | int | float | Decimal | None

_ZERO = Decimal(0)
_ONE_MICROSECOND = timedelta(microseconds=1)


class AggregationType(StrEnum):
    COUNT = "count_agg"
    SUM = "sum_agg"
    MAX = "max_agg"
    UNIQUE_COUNT = "unique_count_agg"
    LATEST = "latest_agg"
    WEIGHTED_SUM = "weighted_sum_agg"


@dataclass(frozen=True)
class UsageEvent:
    timestamp: datetime
    properties: Mapping[str, PropertyValue]
    transaction_id: str

    def __post_init__(self) -> None:
        # Naive datetimes would compare by wall clock and silently shift usage across periods.
        if self.timestamp.utcoffset() is None:
            raise ValueError(f"event {self.transaction_id!r}: timestamp must be timezone-aware")


@dataclass(frozen=True)
class AggregationResult:
    """What a billable metric measured over a period.

    ``per_event_values`` is filled for ``count_agg`` (one per event) and ``sum_agg`` (each
    event's value), in chronological order, so that it always sums to ``value``; percentage
    charges need it for per-transaction fees. ``closing_level`` is the running level at the
    end of the period for ``weighted_sum_agg``, i.e. the next period's ``initial_value``.
    """

    value: Decimal
    event_count: int
    per_event_values: tuple[Decimal, ...] = ()
    closing_level: Decimal | None = None


def parse_numeric(value: object) -> Decimal:
    """A finite Decimal from an event property value, or ValueError.

    Floats go through ``str`` so 0.1 means 0.1, not its binary approximation. Booleans are
    refused although Python treats them as ints: ``true`` is not a quantity.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, int):
        parsed = Decimal(value)
    elif isinstance(value, float | str):
        try:
            parsed = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    else:
        raise ValueError(f"not a number: {value!r}")
    if not parsed.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return parsed


def aggregate(
    agg_type: AggregationType | str,
    events: Iterable[UsageEvent],
    field_name: str | None,
    period_start: datetime,
    period_end: datetime,
    *,
    initial_value: Decimal = _ZERO,
) -> AggregationResult:
    """Aggregate the events of ``[period_start, period_end)`` the way Lago does.

    Events whose ``field_name`` property is missing or None are skipped by every type that
    reads the field (all but ``count_agg``); a value that is present but not numeric raises
    ValueError, except for ``unique_count_agg`` which counts any value.
    """
    kind = AggregationType(agg_type)
    if period_end <= period_start:
        raise ValueError("period_end must be after period_start")
    in_period = sorted(
        (event for event in events if period_start <= event.timestamp < period_end),
        key=_chronological,
    )
    if kind is AggregationType.COUNT:
        ones = tuple(Decimal(1) for _ in in_period)
        return AggregationResult(Decimal(len(in_period)), len(in_period), ones)

    if not field_name:
        raise ValueError(f"{kind} needs a field_name")
    with_field = [event for event in in_period if event.properties.get(field_name) is not None]
    if kind is AggregationType.UNIQUE_COUNT:
        # Lago compares property values as JSON text, so 1 and "1" are the same value.
        distinct = {str(event.properties[field_name]) for event in with_field}
        return AggregationResult(Decimal(len(distinct)), len(with_field))

    values = tuple(_numeric_property(event, field_name) for event in with_field)
    if kind is AggregationType.SUM:
        return AggregationResult(sum(values, _ZERO), len(values), values)
    if kind is AggregationType.MAX:
        return AggregationResult(max(values, default=_ZERO), len(values))
    if kind is AggregationType.LATEST:
        # Sorted chronologically, so the last value is the latest (ties: greatest id).
        return AggregationResult(values[-1] if values else _ZERO, len(values))
    return _time_weighted_average(with_field, values, period_start, period_end, initial_value)


def _chronological(event: UsageEvent) -> tuple[datetime, str]:
    return (event.timestamp, event.transaction_id)


def _numeric_property(event: UsageEvent, field_name: str) -> Decimal:
    raw = event.properties[field_name]
    try:
        return parse_numeric(raw)
    except ValueError as exc:
        raise ValueError(
            f"event {event.transaction_id!r}: property {field_name!r} must be numeric, got {raw!r}"
        ) from exc


def _time_weighted_average(
    events: Sequence[UsageEvent],
    increments: Sequence[Decimal],
    period_start: datetime,
    period_end: datetime,
    initial_value: Decimal,
) -> AggregationResult:
    """Average level over the period: Σ level × time held / period length.

    Each event's value is an increment (+/-) to a running level that starts the period at
    ``initial_value``. Durations are counted in whole microseconds, as integers, so the
    result does not depend on float rounding of ``timedelta.total_seconds()``.
    """
    level = initial_value
    cursor = period_start
    weighted = _ZERO
    for event, increment in zip(events, increments, strict=True):
        weighted += level * _microseconds(event.timestamp - cursor)
        level += increment
        cursor = event.timestamp
    weighted += level * _microseconds(period_end - cursor)
    average = weighted / _microseconds(period_end - period_start)
    return AggregationResult(average, len(increments), closing_level=level)


def _microseconds(span: timedelta) -> int:
    return span // _ONE_MICROSECOND
