"""Usage and wallet alerts: which thresholds a new value crosses (Lago's rules). Pure.

An alert watches one value (a period's usage amount, a metric's units, a wallet's balance)
and compares each new reading with the previous one. Increasing alerts (usage) fire for
every threshold in (previous, current]; decreasing alerts (wallet balances) fire for every
threshold in [current, previous). A recurring threshold fires again at each multiple of its
value past the last one-time threshold (or past zero when there is none). Nothing fires
when the value moves the other way: it only rearms the alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

SUBSCRIPTION_TYPES = (
    "current_usage_amount",
    "billable_metric_current_usage_amount",
    "billable_metric_current_usage_units",
    "lifetime_usage_amount",
)
# Per-period values: the reading starts from zero again in each billing period.
CURRENT_USAGE_TYPES = SUBSCRIPTION_TYPES[:3]
BILLABLE_METRIC_TYPES = (
    "billable_metric_current_usage_amount",
    "billable_metric_current_usage_units",
)
WALLET_TYPES = (
    "wallet_balance_amount",
    "wallet_credits_balance",
    "wallet_ongoing_balance_amount",
    "wallet_credits_ongoing_balance",
)
MAX_THRESHOLDS = 20  # Lago's soft limit per alert
# One reading lists at most this many multiples of a recurring threshold: the highest
# ones (a jump across a million multiples is not worth a million rows).
MAX_RECURRING_CROSSINGS = 1000


@dataclass(frozen=True)
class Threshold:
    value: Decimal
    code: str | None = None
    recurring: bool = False


@dataclass(frozen=True)
class Crossing:
    """A threshold crossed, as Lago lists it in `crossed_thresholds`."""

    value: Decimal
    code: str | None
    recurring: bool


def direction_of(alert_type: str) -> str:
    return "decreasing" if alert_type in WALLET_TYPES else "increasing"


def crossed(
    thresholds: Sequence[Threshold], previous: Decimal, current: Decimal, direction: str
) -> list[Crossing]:
    """The thresholds crossed moving from previous to current, one-time ones first."""
    one_time = sorted({t.value for t in thresholds if not t.recurring})
    recurring = next((t for t in thresholds if t.recurring), None)
    codes = {t.value: t.code for t in thresholds if not t.recurring}
    if direction == "increasing":
        if current <= previous:
            return []
        values = [v for v in one_time if previous < v <= current]
        base = one_time[-1] if one_time else Decimal(0)
        steps = _steps_up(previous, current, recurring.value, base) if recurring else []
    else:
        if current >= previous:
            return []
        values = sorted((v for v in one_time if current <= v < previous), reverse=True)
        base = one_time[0] if one_time else Decimal(0)
        steps = _steps_down(previous, current, recurring.value, base) if recurring else []
    found = [Crossing(v, codes[v], False) for v in values]
    seen = set(values)
    code = recurring.code if recurring else None
    found += [Crossing(v, code, True) for v in steps if v not in seen]
    return found


def _steps_up(previous: Decimal, current: Decimal, step: Decimal, base: Decimal) -> list[Decimal]:
    """Multiples base + k·step (k ≥ 1) in (previous, current]."""
    first = max(_div(previous - base, step, ROUND_FLOOR) + 1, 1)
    last = _div(current - base, step, ROUND_FLOOR)
    first = max(first, last - MAX_RECURRING_CROSSINGS + 1)
    return [base + k * step for k in range(first, last + 1)]


def _steps_down(previous: Decimal, current: Decimal, step: Decimal, base: Decimal) -> list[Decimal]:
    """Multiples base − k·step (k ≥ 1) in [current, previous), highest first."""
    first = max(_div(base - previous, step, ROUND_FLOOR) + 1, 1)
    last = _div(base - current, step, ROUND_FLOOR)
    first = max(first, last - MAX_RECURRING_CROSSINGS + 1)
    return [base - k * step for k in range(first, last + 1)]


def _div(numerator: Decimal, step: Decimal, rounding: str) -> int:
    return int((numerator / step).to_integral_value(rounding=rounding))


def threshold_errors(thresholds: Sequence[Threshold]) -> dict[str, list[str]]:
    """Lago's 422 codes for a list of thresholds (empty when valid)."""
    if not thresholds:
        return {"thresholds": ["value_is_mandatory"]}
    if len(thresholds) > MAX_THRESHOLDS:
        return {"thresholds": ["too_many_thresholds"]}
    keys = [(t.value, t.recurring) for t in thresholds]
    if len(keys) != len(set(keys)):
        return {"thresholds": ["duplicate_threshold_values"]}
    if any(t.recurring and t.value <= 0 for t in thresholds):
        return {"thresholds:value": ["recurring_value_is_negative"]}
    if sum(1 for t in thresholds if t.recurring) > 1:
        return {"thresholds": ["only_one_recurring_threshold"]}
    return {}
