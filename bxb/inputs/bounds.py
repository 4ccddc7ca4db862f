"""Bounded request types: what a request may hold is what the ledger can store and compute.

- Text lands in a column: `fits(Model.column)` takes its length from the model, so the
  schema and the table cannot drift apart. Free text stored in TEXT or JSONB gets MAX_TEXT.
- Integers fit the column they land in (INTEGER for counts and days). Money sent in is at
  most MAX_AMOUNT_CENTS, far below BIGINT, so that what the ledger derives from it (sums
  of fees, taxes up to 100 %) still fits the BIGINT columns.
- Dates and instants lie between MIN_INSTANT and MAX_INSTANT: far enough apart for any
  real contract, close enough that period arithmetic (a year past the end, a timezone
  shift), Python's datetime, PostgreSQL, ClickHouse's DateTime64 and Temporal's timers
  never overflow. Outside: 422 `value_is_out_of_range`.

tests/integration/test_request_bounds.py walks every request schema of the app and fails
on a string, number or date without such a bound.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints
from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute

MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1
MAX_AMOUNT_CENTS = 10**15  # 10 trillion in a 2-decimal currency; BIGINT holds 9,000 of them
MAX_TEXT = 10_000  # descriptions, footers: TEXT columns, bounded by sense, not by type

MIN_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive


def column_length(column: InstrumentedAttribute[Any]) -> int:
    """The length of a VARCHAR column (a model attribute), e.g. Customer.name → 255."""
    kind = column.property.columns[0].type
    assert isinstance(kind, String), f"{column} is not VARCHAR(n)"
    assert kind.length is not None, f"{column} is TEXT"
    return kind.length


def fits(column: InstrumentedAttribute[Any], *, min_length: int = 0) -> StringConstraints:
    """Annotated[str, fits(Plan.code)]: at most as long as the column it lands in."""
    return StringConstraints(min_length=min_length, max_length=column_length(column))


def _computable_instant(value: datetime) -> datetime:
    aware = value if value.utcoffset() is not None else value.replace(tzinfo=UTC)
    if not MIN_INSTANT <= aware < MAX_INSTANT:
        raise ValueError("value_is_out_of_range")
    return value


def _computable_day(value: date) -> date:
    if not MIN_INSTANT.date() <= value < MAX_INSTANT.date():
        raise ValueError("value_is_out_of_range")
    return value


def _aware_utc(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError("invalid_date")  # Lago sends ISO 8601 with a zone
    return value.astimezone(UTC)


# Every request date or instant is one of these (naive or aware: the schema decides).
Instant = Annotated[datetime, AfterValidator(_computable_instant)]
AwareInstant = Annotated[Instant, AfterValidator(_aware_utc)]  # with a zone; then in UTC
Day = Annotated[date, AfterValidator(_computable_day)]
FreeText = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Cents = Annotated[int, Field(ge=0, le=MAX_AMOUNT_CENTS)]  # an amount in minor units
# An amount whose sign the ledger or the core checks (with the other fields, at once).
SignedCents = Annotated[int, Field(ge=-MAX_AMOUNT_CENTS, le=MAX_AMOUNT_CENTS)]
Count = Annotated[int, Field(ge=0, le=MAX_INT)]  # days, periods, retries: INTEGER columns

INSTANT_CHECKS = frozenset({_computable_instant, _computable_day})
