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


# --- several wallets paying one invoice ---------------------------------------------------


@dataclass(frozen=True)
class FeeShare:
    """What one group of an invoice's fees may be paid with: its type, its billable metric
    (charge fees) and its amount after coupons, with taxes, in minor units."""

    fee_type: str
    metric_code: str | None
    cents: int


@dataclass(frozen=True)
class WalletScope:
    """A wallet's balance and its applies_to limits (both empty: it pays any fee)."""

    balance_cents: int
    fee_types: frozenset[str] = frozenset()
    metric_codes: frozenset[str] = frozenset()

    @property
    def unrestricted(self) -> bool:
        return not self.fee_types and not self.metric_codes

    def pays(self, share: FeeShare) -> bool:
        if self.unrestricted or share.fee_type in self.fee_types:
            return True
        return share.fee_type == "charge" and share.metric_code in self.metric_codes


def allocate(
    amount_due_cents: int, shares: list[FeeShare], wallets: list[WalletScope]
) -> list[int]:
    """What each wallet (in the order given: Lago's priority, then creation) pays.

    As Lago's AllocatePrepaidCreditsByWalletsService: fees are grouped by (type, metric)
    and the groups taken largest first; a wallet pays the groups its applies_to allows, up
    to its balance, the group's amount and what the invoice still owes. A wallet without
    limits pays whatever is still owed, whether or not the fee groups account for it
    (they can miss the invoice's own rounding), so one unrestricted wallet pays
    `min(balance, amount due)` exactly as before several wallets existed.
    """
    groups: dict[tuple[str, str | None], int] = {}
    for share in shares:
        if share.cents > 0:
            key = (share.fee_type, share.metric_code if share.fee_type == "charge" else None)
            groups[key] = groups.get(key, 0) + share.cents
    remaining = dict(sorted(groups.items(), key=lambda item: -item[1]))
    owed = max(amount_due_cents, 0)
    paid: list[int] = []
    for wallet in wallets:
        available = max(wallet.balance_cents, 0)
        taken = 0
        for key, left in remaining.items():
            if left <= 0 or owed - taken <= 0 or available - taken <= 0:
                continue
            if not wallet.pays(FeeShare(key[0], key[1], left)):
                continue
            part = min(left, available - taken, owed - taken)
            remaining[key] = left - part
            taken += part
        if wallet.unrestricted:
            taken += max(0, min(available - taken, owed - taken))
        owed -= taken
        paid.append(taken)
    return paid
