"""Prepaid credits: parsing, credits ↔ money, consumption and voiding. Pure.

A wallet holds credits worth `rate_amount` currency units each. It keeps two balances
that move together: credits (Decimal, 5 places, as Lago stores them) and their money value
in integer minor units. Money coming in is priced once (credits × rate, rounded half-up
to the currency's minor unit); money going out takes the matching share of credits,
proportionally to the balance, so both balances reach zero together and the wallet never
hands out more money than was put in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

from bxb.billing.money import currency_exponent

CREDIT_DECIMALS = 5
RATE_DECIMALS = 15
# Column bounds: credits Numeric(30, 5), rate Numeric(30, 15), cents BigInteger.
MAX_CREDITS = Decimal(10) ** (30 - CREDIT_DECIMALS)
MAX_RATE = Decimal(10) ** (30 - RATE_DECIMALS)
MAX_CENTS = 2**63 - 1
_CREDIT_QUANTUM = Decimal(1).scaleb(-CREDIT_DECIMALS)
_DECIMAL_TEXT = re.compile(r"^[0-9]+(\.[0-9]+)?$")
# Enough digits for the largest credits × rate × 10^exponent without rounding.
_PRECISION = 80


def parse_decimal(value: object, *, places: int, maximum: Decimal) -> Decimal | None:
    """A non-negative decimal with at most `places` decimals and below `maximum`, or None.

    Lago sends credits and rates as strings ("10.5"); plain JSON numbers are accepted too.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = value if isinstance(value, str) else repr(value)
    if not _DECIMAL_TEXT.match(text):
        return None
    number = Decimal(text)
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        return None
    return number if number < maximum else None


def parse_credits(value: object) -> Decimal | None:
    return parse_decimal(value, places=CREDIT_DECIMALS, maximum=MAX_CREDITS)


def parse_rate(value: object) -> Decimal | None:
    """A rate must be positive: a credit worth nothing cannot be priced or consumed."""
    rate = parse_decimal(value, places=RATE_DECIMALS, maximum=MAX_RATE)
    return rate if rate is not None and rate > 0 else None


def credits_to_cents(credits: Decimal, rate: Decimal, currency: str) -> int:
    """What `credits` cost, in minor units (rounded half-up once)."""
    with localcontext() as context:
        context.prec = _PRECISION
        exact = credits * rate * Decimal(1).scaleb(currency_exponent(currency))
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Balance:
    """Credits and their money value, in minor units."""

    credits: Decimal
    cents: int

    def __sub__(self, other: Balance) -> Balance:
        return Balance(self.credits - other.credits, self.cents - other.cents)

    def __add__(self, other: Balance) -> Balance:
        return Balance(self.credits + other.credits, self.cents + other.cents)


ZERO = Balance(Decimal(0), 0)


def _credits_share(balance: Balance, cents: int) -> Decimal:
    with localcontext() as context:
        context.prec = _PRECISION
        share = balance.credits * cents / balance.cents
        return share.quantize(_CREDIT_QUANTUM, rounding=ROUND_HALF_UP)


def consumption(balance: Balance, amount_due_cents: int) -> Balance:
    """The part of the balance that pays `amount_due_cents`: as much money as both allow,
    and the credits that go with it (all of them when the money runs out)."""
    cents = max(0, min(balance.cents, amount_due_cents))
    if cents == 0:
        return ZERO
    if cents == balance.cents:
        return balance
    return Balance(_credits_share(balance, cents), cents)


def voiding(balance: Balance, credits: Decimal) -> Balance:
    """The part of the balance that `credits` voided credits remove.

    Raises ValueError when more credits are voided than the balance holds.
    """
    if credits > balance.credits:
        raise ValueError("insufficient_credits")
    if credits == balance.credits:
        return balance
    with localcontext() as context:
        context.prec = _PRECISION
        cents = balance.cents * credits / balance.credits
        return Balance(credits, int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def is_expired(expiration_at: datetime | None, now: datetime) -> bool:
    """A wallet expires at its expiration instant, inclusive."""
    return expiration_at is not None and expiration_at <= now
