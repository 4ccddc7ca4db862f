"""Small helpers for Lago-shaped responses."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as Lago writes instants (2026-01-01T00:00:00Z)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def decimal_string(value: Decimal | None) -> str | None:
    """Lago sends prices and rates as strings; never in exponent notation."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text
