"""Field validators shared by request schemas (errors become Lago's 422 codes), and the
string types built on them."""

from __future__ import annotations

from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from pydantic import AfterValidator, StringConstraints

from bxb.billing.money import is_known_currency


@cache
def _countries() -> frozenset[str]:
    return frozenset(
        code for code in Locale("en").territories if isinstance(code, str) and code.isalpha()
    )


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_currency(value: str) -> str:
    if not is_known_currency(value):
        raise ValueError("value_is_invalid")
    return value


def check_timezone(value: str) -> str:
    if value not in _timezones():
        raise ValueError("invalid_timezone")
    try:
        ZoneInfo(value)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - listed zones always load
        raise ValueError("invalid_timezone") from exc
    return value


def check_country(value: str) -> str:
    if value.upper() not in _countries():
        raise ValueError("not_a_valid_country_code")
    return value.upper()


def check_email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or " " in value:
        raise ValueError("invalid_email_format")
    return value


# Each accepts only members of a closed set (ISO 4217, ISO 3166, IANA), which fit their
# columns; an email is free text, bounded like the columns it lands in.
Currency = Annotated[str, AfterValidator(check_currency)]
Timezone = Annotated[str, AfterValidator(check_timezone)]
Country = Annotated[str, AfterValidator(check_country)]
Email = Annotated[str, StringConstraints(max_length=255), AfterValidator(check_email)]
