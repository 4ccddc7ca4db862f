"""Prepaid credits math: parsing, pricing, consumption and voiding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bxb.billing.wallets import (
    MAX_CREDITS,
    ZERO,
    Balance,
    consumption,
    credits_to_cents,
    is_expired,
    parse_credits,
    parse_rate,
    voiding,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10", Decimal(10)),
        ("10.5", Decimal("10.5")),
        ("0.00001", Decimal("0.00001")),
        ("0", Decimal(0)),
        (7, Decimal(7)),
        (2.5, Decimal("2.5")),
        ("-1", None),
        ("abc", None),
        ("1e3", None),
        ("", None),
        ("0.000001", None),  # more than five decimals
        (True, None),
        (None, None),
        ([1], None),
        (str(MAX_CREDITS), None),
    ],
)
def test_parse_credits(value: object, expected: Decimal | None) -> None:
    assert parse_credits(value) == expected


def test_rate_must_be_positive() -> None:
    assert parse_rate("1.5") == Decimal("1.5")
    assert parse_rate("0") is None
    assert parse_rate("0.000000000000001") == Decimal("1e-15")
    assert parse_rate("0.0000000000000001") is None


@pytest.mark.parametrize(
    ("credits", "rate", "currency", "cents"),
    [
        ("10", "1", "USD", 1000),
        ("10", "1.5", "EUR", 1500),
        ("1", "0.335", "USD", 34),  # half-up
        ("1", "0.334", "USD", 33),
        ("3", "100", "JPY", 300),  # no minor unit
        ("1", "1", "KWD", 1000),  # three decimals
        ("0.001", "1", "USD", 0),
    ],
)
def test_credits_to_cents(credits: str, rate: str, currency: str, cents: int) -> None:
    assert credits_to_cents(Decimal(credits), Decimal(rate), currency) == cents


def test_consumption_takes_what_is_due_and_matching_credits() -> None:
    balance = Balance(Decimal(10), 1000)
    assert consumption(balance, 250) == Balance(Decimal("2.5"), 250)
    assert consumption(balance, 1000) == balance
    assert consumption(balance, 5000) == balance  # never more than the balance
    assert consumption(balance, 0) == ZERO
    assert consumption(balance, -10) == ZERO
    assert consumption(ZERO, 100) == ZERO


def test_consumption_rounds_credits_to_five_places() -> None:
    # 1 credit = 3 USD: one cent is 0.00333... credits.
    balance = Balance(Decimal(1), 300)
    assert consumption(balance, 1) == Balance(Decimal("0.00333"), 1)
    assert consumption(balance, 2) == Balance(Decimal("0.00667"), 2)


def test_voiding_removes_credits_and_their_value() -> None:
    balance = Balance(Decimal(10), 1000)
    assert voiding(balance, Decimal(4)) == Balance(Decimal(4), 400)
    assert voiding(balance, Decimal(10)) == balance
    assert voiding(balance, Decimal(0)) == Balance(Decimal(0), 0)
    assert voiding(ZERO, Decimal(0)) == ZERO
    with pytest.raises(ValueError, match="insufficient_credits"):
        voiding(balance, Decimal("10.00001"))


def test_is_expired_is_inclusive() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert is_expired(now, now)
    assert is_expired(now - timedelta(seconds=1), now)
    assert not is_expired(now + timedelta(microseconds=1), now)
    assert not is_expired(None, now)


credits_st = st.decimals(min_value=0, max_value=10**9, places=5, allow_nan=False)
cents_st = st.integers(min_value=0, max_value=10**12)


@given(credits=credits_st, cents=cents_st, due=st.lists(cents_st, max_size=8))
def test_consuming_in_steps_never_overdraws_and_ends_together(
    credits: Decimal, cents: int, due: list[int]
) -> None:
    balance = Balance(credits, cents)
    taken = ZERO
    for amount in due:
        part = consumption(balance, amount)
        assert 0 <= part.cents <= min(balance.cents, max(amount, 0))
        assert 0 <= part.credits <= balance.credits
        balance -= part
        taken += part
        if balance.cents == 0 and part.cents > 0:
            assert balance.credits == 0  # money and credits run out together
    assert taken + balance == Balance(credits, cents)


@given(credits=credits_st, cents=cents_st, per_mille=st.integers(min_value=0, max_value=1000))
def test_voiding_stays_within_the_balance(credits: Decimal, cents: int, per_mille: int) -> None:
    balance = Balance(credits, cents)
    voided = (credits * per_mille / 1000).quantize(Decimal("0.00001"), rounding=ROUND_DOWN)
    part = voiding(balance, voided)
    assert part.credits == voided
    assert 0 <= part.cents <= balance.cents


@given(
    credits=st.decimals(min_value=0, max_value=10**6, places=5, allow_nan=False),
    rate=st.decimals(min_value="0.001", max_value=1000, places=3, allow_nan=False),
)
def test_pricing_is_rounded_half_up_once(credits: Decimal, rate: Decimal) -> None:
    cents = credits_to_cents(credits, rate, "USD")
    assert abs(Decimal(cents) - credits * rate * 100) <= Decimal("0.5")
