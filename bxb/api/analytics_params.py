"""The query parameters every analytics and dashboard route shares, parsed one way.

Dates are ISO (`YYYY-MM-DD`, or `YYYY-MM` for a month); a bad one is Lago's 422
`invalid_date` on its field, a reversed window `must_be_before_to_date`, one over the
bound `period_too_long`, an unknown currency `value_is_invalid`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import Query

from bxb.analytics.revenue_periods import add_months, month_start, utc_today
from bxb.api.errors import validation_error
from bxb.inputs.validation import check_currency

# Dates outside these years are no billing period's (and would overflow date arithmetic).
FIRST_YEAR, LAST_YEAR = 1970, 9000
DEFAULT_MONTHS = 12
MAX_MONTHS = 120
DEFAULT_DAYS = 30
MAX_DAYS = 366

DateParam = Annotated[
    str | None, Query(max_length=32, description="ISO date, YYYY-MM-DD (or YYYY-MM).")
]
CurrencyParam = Annotated[
    str | None,
    Query(max_length=3, description="ISO 4217; without it, one entry per currency."),
]


def parse_currency(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return check_currency(value.upper())
    except ValueError:
        raise validation_error({"currency": ["value_is_invalid"]}) from None


def parse_date(field: str, value: str | None) -> date | None:
    """An ISO date (a month alone is its first day), or Lago's 422 on `field`."""
    if value is None or value == "":
        return None
    try:
        parsed = date.fromisoformat(f"{value}-01" if len(value) == 7 else value)
    except ValueError:
        raise validation_error({field: ["invalid_date"]}) from None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise validation_error({field: ["invalid_date"]})
    return parsed


def month_window(
    from_date: str | None, to_date: str | None, default_months: int = DEFAULT_MONTHS
) -> tuple[date, date]:
    """The first days of the months holding from_date and to_date; by default the last
    `default_months` months, this one included; at most MAX_MONTHS."""
    last = month_start(parse_date("to_date", to_date) or utc_today())
    given = parse_date("from_date", from_date)
    first = month_start(given) if given else add_months(last, -(default_months - 1))
    if first > last:
        raise validation_error({"from_date": ["must_be_before_to_date"]})
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        raise validation_error({"from_date": ["period_too_long"]})
    return first, last


def day_window(from_date: str | None, to_date: str | None) -> tuple[date, date]:
    """From from_date to to_date; by default the last DEFAULT_DAYS days, today included."""
    last = parse_date("to_date", to_date) or utc_today()
    first = parse_date("from_date", from_date) or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise validation_error({"from_date": ["must_be_before_to_date"]})
    if (last - first).days >= MAX_DAYS:
        raise validation_error({"from_date": ["period_too_long"]})
    return first, last
