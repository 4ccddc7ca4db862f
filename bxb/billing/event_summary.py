"""Pre-aggregated usage: what count, sum and max need of a period's events, so that a
period can be measured from rolled-up parts (whole hours) plus its raw edges.

Pure. `EventSummary` is additive: the summary of two disjoint sets of events is the
`combined` of theirs, and `result` of it is exactly what `aggregate` gives over the union
(for the types `ROLLABLE`), without ``per_event_values``, so only charges that do not read
each event's value can use it (`summarizable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bxb.billing.aggregation import AggregationResult, AggregationType, UsageEvent, aggregate

_ZERO = Decimal(0)

ROLLABLE = frozenset({AggregationType.COUNT, AggregationType.SUM, AggregationType.MAX})
# Charge models that price units and an events count, never each event's value.
_UNIT_MODELS = frozenset({"standard", "graduated", "volume", "package"})


def summarizable(aggregation_type: AggregationType, charge_model: str, has_filters: bool) -> bool:
    """Whether a charge can be priced from an `EventSummary` of its metric's events."""
    return aggregation_type in ROLLABLE and charge_model in _UNIT_MODELS and not has_filters


@dataclass(frozen=True, slots=True)
class EventSummary:
    """``events_count`` events; of them ``values_count`` carry the field, summing to
    ``values_sum`` with maximum ``values_max`` (None when none does)."""

    events_count: int = 0
    values_count: int = 0
    values_sum: Decimal = _ZERO
    values_max: Decimal | None = None

    def combined(self, other: EventSummary) -> EventSummary:
        maxima = [m for m in (self.values_max, other.values_max) if m is not None]
        return EventSummary(
            self.events_count + other.events_count,
            self.values_count + other.values_count,
            self.values_sum + other.values_sum,
            max(maxima) if maxima else None,
        )

    def result(self, kind: AggregationType) -> AggregationResult:
        """What `aggregate` gives for ``kind`` (no per-event values)."""
        if kind is AggregationType.COUNT:
            return AggregationResult(Decimal(self.events_count), self.events_count)
        if kind is AggregationType.SUM:
            return AggregationResult(self.values_sum, self.values_count)
        if kind is AggregationType.MAX:
            maximum = self.values_max if self.values_max is not None else _ZERO
            return AggregationResult(maximum, self.values_count)
        raise ValueError(f"{kind} cannot be summarized")


def summarize(
    events: Sequence[UsageEvent], field_name: str | None, start: datetime, end: datetime
) -> EventSummary:
    """The summary of raw events in [start, end) (a non-numeric value raises ValueError,
    as `aggregate` does)."""
    count = aggregate(AggregationType.COUNT, events, None, start, end).event_count
    if not field_name:
        return EventSummary(count)
    total = aggregate(AggregationType.SUM, events, field_name, start, end)
    if total.event_count == 0:
        return EventSummary(count)
    maximum = aggregate(AggregationType.MAX, events, field_name, start, end).value
    return EventSummary(count, total.event_count, total.value, maximum)
