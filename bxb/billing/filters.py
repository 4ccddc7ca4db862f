"""Lago charge filters: price events differently by the values of their properties.

A billable metric declares filter keys and their allowed values; a charge filter picks,
per key, the values it applies to (``{"region": ["eu", "us"]}``) and has its own charge
properties. Each event is billed by the most specific filter it matches, or by the
charge's own properties when it matches none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bxb.billing.aggregation import PropertyValue, UsageEvent

ALL_FILTER_VALUES = "__ALL_FILTER_VALUES__"
"""Lago's wildcard: the key must be present on the event, with any value."""

DEFAULT_BUCKET = None
"""Key of ``assign_events_to_filters`` for events that match no filter."""


@dataclass(frozen=True)
class ChargeFilter:
    values: Mapping[str, tuple[str, ...]]
    properties: Mapping[str, Any] = field(default_factory=dict)
    invoice_display_name: str | None = None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ChargeFilter:
        """From Lago's ``{values, properties, invoice_display_name}`` (shape not validated)."""
        values = payload.get("values") or {}
        return cls(
            values={key: tuple(str(v) for v in allowed) for key, allowed in values.items()},
            properties=dict(payload.get("properties") or {}),
            invoice_display_name=payload.get("invoice_display_name"),
        )

    @property
    def display_name(self) -> str:
        """Lago shows the filter's values when no invoice display name is set."""
        if self.invoice_display_name:
            return self.invoice_display_name
        return ", ".join(value for allowed in self.values.values() for value in allowed)

    @property
    def specificity(self) -> tuple[int, int]:
        """More keys is more specific; among equals, explicit values beat the wildcard."""
        explicit = sum(1 for allowed in self.values.values() if ALL_FILTER_VALUES not in allowed)
        return (len(self.values), explicit)


def match_filter(
    event_properties: Mapping[str, PropertyValue], filter_values: Mapping[str, Sequence[str]]
) -> bool:
    """True when every filter key is on the event with one of its allowed values.

    Values compare as text (Lago stores event properties as JSON and filter values as
    strings), so an event property ``1`` matches the filter value ``"1"``.
    """
    for key, allowed in filter_values.items():
        value = event_properties.get(key)
        if value is None:
            return False
        if ALL_FILTER_VALUES not in allowed and str(value) not in allowed:
            return False
    return True


def assign_events_to_filters(
    events: Iterable[UsageEvent], filters: Sequence[ChargeFilter]
) -> dict[int | None, list[UsageEvent]]:
    """Bucket events by the index of the filter that bills them (None: no filter matched).

    An event matching several filters goes to the most specific (``specificity``); a
    remaining tie goes to the filter listed first, so the result never depends on chance.
    Every filter index and the default bucket are present, empty when nothing matched, so
    that a filter with no usage still yields its (zero) fee.
    """
    buckets: dict[int | None, list[UsageEvent]] = {index: [] for index in range(len(filters))}
    buckets[DEFAULT_BUCKET] = []
    for event in events:
        buckets[_best_filter(event, filters)].append(event)
    return buckets


def _best_filter(event: UsageEvent, filters: Sequence[ChargeFilter]) -> int | None:
    best: int | None = DEFAULT_BUCKET
    for index, charge_filter in enumerate(filters):
        if not match_filter(event.properties, charge_filter.values):
            continue
        if best is None or charge_filter.specificity > filters[best].specificity:
            best = index
    return best


def filter_errors(
    filter_values: Mapping[str, Sequence[str]], metric_filters: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """Check a charge filter's values against its billable metric's declared filters.

    Returns field → Lago-style error codes (empty when valid): the filter needs at least
    one key, each key must be declared on the metric, each key needs at least one value,
    and each value must be declared for that key (or be ``__ALL_FILTER_VALUES__``).
    """
    errors: dict[str, list[str]] = {}
    if not filter_values:
        errors["values"] = ["value_is_mandatory"]
    for key, allowed in filter_values.items():
        declared = metric_filters.get(key)
        if declared is None:
            errors.setdefault(key, []).append("invalid_filter_key")
            continue
        if not allowed:
            errors.setdefault(key, []).append("value_is_mandatory")
        if any(value != ALL_FILTER_VALUES and value not in declared for value in allowed):
            errors.setdefault(key, []).append("invalid_filter_value")
    return errors
