"""Month and day buckets of the revenue figures (UTC, Lago's month stamps)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """Every month from first's to last's, both included (empty when first > last)."""
    months: list[date] = []
    current = month_start(first)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def cents(amount: Decimal | int | float | None) -> int:
    """Whole cents, half up (Lago rounds precise amounts so)."""
    if amount is None:
        return 0
    return int(Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def lago_first_month(today: date, months: int | None) -> date | None:
    """Lago's `months` filter: the last `months` months, the current one included."""
    if months is None:
        return None
    return add_months(month_start(today), -(max(months, 1) - 1))


def utc_today() -> date:
    return datetime.now(UTC).date()
