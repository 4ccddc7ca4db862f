"""money.py: exponents from ISO 4217 (via babel) and the one half-up rounding rule."""

from decimal import Decimal

import pytest

from bxb.billing.money import (
    UnknownCurrencyError,
    currency_exponent,
    from_minor_units,
    is_known_currency,
    major_to_minor_exact,
    round_minor,
    to_minor_units,
)


@pytest.mark.parametrize(("currency", "exponent"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3)])
def test_currency_exponent(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize("code", ["XXX1", "usd", "ABC", ""])
def test_unknown_currency_raises(code: str) -> None:
    assert not is_known_currency(code)
    with pytest.raises(UnknownCurrencyError):
        currency_exponent(code)
    with pytest.raises(UnknownCurrencyError):
        to_minor_units("1", code)


def test_unknown_currency_error_is_a_value_error() -> None:
    assert issubclass(UnknownCurrencyError, ValueError)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.34", "USD", 1234),
        ("0.005", "USD", 1),  # half a cent rounds up
        ("0.004", "USD", 0),
        ("-0.005", "USD", -1),  # half-up is away from zero for negatives too
        ("-0.004", "USD", 0),
        ("1234", "JPY", 1234),
        ("1234.5", "JPY", 1235),  # JPY has no minor unit: .5 yen rounds up
        ("1234.49", "JPY", 1234),
        ("1.2345", "KWD", 1235),  # KWD has 3 decimals (fils)
        ("1.2344", "KWD", 1234),
        (Decimal("2.5"), "USD", 250),
        (7, "USD", 700),
    ],
)
def test_to_minor_units(amount: str | Decimal | int, currency: str, minor: int) -> None:
    assert to_minor_units(amount, currency) == minor


def test_to_minor_units_rejects_non_numbers() -> None:
    with pytest.raises(ValueError, match="not a decimal amount"):
        to_minor_units("abc", "USD")


@pytest.mark.parametrize(
    ("exact", "rounded"),
    [
        (Decimal("0.5"), 1),
        (Decimal("1.5"), 2),
        (Decimal("2.5"), 3),  # half-up, not banker's rounding (which would give 2)
        (Decimal("2.4999"), 2),
        (Decimal("-0.5"), -1),
        (Decimal("-2.5"), -3),
        (Decimal("-2.4"), -2),
        (Decimal("0"), 0),
    ],
)
def test_round_minor_half_up(exact: Decimal, rounded: int) -> None:
    assert round_minor(exact) == rounded


def test_major_to_minor_exact_keeps_fractions() -> None:
    assert major_to_minor_exact("0.005", "USD") == Decimal("0.5")
    assert major_to_minor_exact("0.5", "JPY") == Decimal("0.5")
    assert major_to_minor_exact("1.0005", "KWD") == Decimal("1000.5")


def test_from_minor_units() -> None:
    assert from_minor_units(1234, "USD") == Decimal("12.34")
    assert from_minor_units(1234, "JPY") == Decimal("1234")
    assert from_minor_units(1234, "KWD") == Decimal("1.234")
