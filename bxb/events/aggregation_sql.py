"""What both stores share when they aggregate in SQL.

The databases compute sums exactly (numeric / Decimal256); the one division of
weighted_sum is left to Python's Decimal so that it rounds exactly as the pure core does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bxb.billing.aggregation import AggregationResult

_ONE_MICROSECOND = timedelta(microseconds=1)


def microseconds(span: timedelta) -> int:
    return span // _ONE_MICROSECOND


def weighted_average(
    count: int,
    weighted_after_first: Decimal,
    first_event_at: datetime | None,
    total_increment: Decimal,
    start: datetime,
    end: datetime,
    initial_value: Decimal,
) -> AggregationResult:
    """Finish a time-weighted average from the database's partial sums.

    ``weighted_after_first`` is Σ level × µs held, from the first event to the period's
    end; the span before the first event holds ``initial_value``.
    """
    before_first = end if first_event_at is None else first_event_at
    weighted = initial_value * microseconds(before_first - start) + weighted_after_first
    average = weighted / microseconds(end - start)
    return AggregationResult(average, count, closing_level=initial_value + total_increment)
