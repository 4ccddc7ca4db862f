"""Month buckets of the MRR figures: Lago's (the first day of a month, UTC), and the range
a request asks for (defaults and bounds)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

# The longest range one request may ask for (10 years of months).
MAX_MONTHS = 120
# Without `from_date`: the 12 months ending with `to_date`'s month.
DEFAULT_MONTHS = 12


def month_start(day: date) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=UTC)


def add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def months_between(first: datetime, last: datetime) -> int:
    """How many months from first to last, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def month_range(
    from_date: date | None, to_date: date | None, today: date
) -> tuple[datetime, datetime]:
    """(first month, last month) of a request, both month starts; ValueError if out of bounds."""
    last = month_start(to_date or today)
    first = month_start(from_date) if from_date else add_months(last, 1 - DEFAULT_MONTHS)
    if first > last:
        raise ValueError("from_date is after to_date")
    if months_between(first, last) > MAX_MONTHS:
        raise ValueError(f"more than {MAX_MONTHS} months")
    return first, last


def months(first: datetime, last: datetime) -> list[datetime]:
    return [add_months(first, i) for i in range(months_between(first, last))]


def rate(numerator: int, denominator: int) -> str | None:
    """numerator / denominator as a decimal string of 4 places (half-up); None if 0 / 0."""
    if denominator == 0:
        return None
    value = Decimal(numerator) / Decimal(denominator)
    return str(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def divide_cents(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up to a whole cent (denominator > 0)."""
    value = Decimal(numerator) / Decimal(denominator)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
