"""Money: integer minor units per ISO 4217 currency, one rounding rule.

Amounts are held as ``int`` minor units (``amount_cents`` in Lago's words). Prices and
rates arrive as decimal strings and stay ``Decimal`` until a fee is complete; the fee is
then rounded exactly once, half-up, to the currency's exponent as babel knows it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision, list_currencies


class UnknownCurrencyError(ValueError):
    """Raised for a code that is not an active ISO 4217 currency."""


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_known_currency(code: str) -> bool:
    """True for an ISO 4217 code babel has data for (upper case, three letters)."""
    return code in _known_currencies()


def currency_exponent(code: str) -> int:
    """Number of decimal places of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    if not is_known_currency(code):
        raise UnknownCurrencyError(code)
    return int(get_currency_precision(code))


def to_minor_units(amount: Decimal | str | int, currency: str) -> int:
    """Round an amount in major units (e.g. dollars) half-up to integer minor units."""
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal amount: {amount!r}") from exc
    scaled = value.scaleb(currency_exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def round_minor(amount_minor: Decimal) -> int:
    """Round a fractional amount already in minor units, half-up, to an integer."""
    return int(amount_minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def major_to_minor_exact(amount: Decimal | str | int, currency: str) -> Decimal:
    """Convert major units to minor units without rounding (for sums rounded later)."""
    return Decimal(amount).scaleb(currency_exponent(currency))


def from_minor_units(amount_minor: int, currency: str) -> Decimal:
    """Minor units back to a Decimal in major units (for display and Lago's `*_amount`)."""
    return Decimal(amount_minor).scaleb(-currency_exponent(currency))
