"""Minimums: the plan's commitment true-up and a charge's min_amount true-up (Lago's math)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bxb.billing.commitments import charge_true_up, commitment_true_up


def test_commitment_is_prorated_then_rounded_once() -> None:
    # 17 of 31 days: 10000 × 17/31 = 5483.87 → 5484; fees 1645 → true-up 3839.
    true_up = commitment_true_up(10_000, 17, 31, 1645)
    assert true_up is not None
    assert (true_up.amount_cents, true_up.minimum_cents) == (3839, Decimal(5484))
    assert true_up.precise_amount_cents == Decimal(3839)


def test_no_commitment_fee_when_the_period_reached_it() -> None:
    assert commitment_true_up(5000, 31, 31, 5000) is None
    assert commitment_true_up(5000, 31, 31, 7000) is None
    assert commitment_true_up(0, 31, 31, 0) is None


def test_commitment_precise_amount_uses_the_precise_fees() -> None:
    true_up = commitment_true_up(5000, 30, 30, 1000, Decimal("999.6"))
    assert true_up is not None
    assert (true_up.amount_cents, true_up.precise_amount_cents) == (4000, Decimal("4000.4"))


def test_charge_minimum_is_prorated_unrounded() -> None:
    # 2000 × 17/31 = 1096.774…; used 300 → 796.774… → 797
    true_up = charge_true_up(2000, 17, 31, 300)
    assert true_up is not None
    assert true_up.amount_cents == 797
    assert str(true_up.precise_amount_cents).startswith("796.7741935")
    assert charge_true_up(2000, 31, 31, 2000) is None
    assert charge_true_up(0, 31, 31, 0) is None
    # 1096.774 − 1096 = 0.774 → a true-up of 1 cent
    small = charge_true_up(2000, 17, 31, 1096)
    assert small is not None
    assert small.amount_cents == 1
    assert charge_true_up(2000, 17, 31, 1097) is None


def test_days_must_lie_in_the_period() -> None:
    with pytest.raises(ValueError, match="days"):
        commitment_true_up(100, 32, 31, 0)
    with pytest.raises(ValueError, match="days"):
        charge_true_up(100, 1, 0, 0)


@given(
    st.integers(min_value=1, max_value=10**8),
    st.integers(min_value=1, max_value=366),
    st.data(),
    st.integers(min_value=0, max_value=10**8),
)
def test_fees_plus_true_up_reach_the_prorated_minimum(
    minimum: int, full_days: int, data: st.DataObject, fees: int
) -> None:
    days = data.draw(st.integers(min_value=0, max_value=full_days))
    prorated = Decimal(minimum) * days / full_days
    for true_up in (
        commitment_true_up(minimum, days, full_days, fees),
        charge_true_up(minimum, days, full_days, fees),
    ):
        billed = fees + (true_up.amount_cents if true_up else 0)
        if true_up is None:  # the fees reached the minimum (rounded)
            assert fees >= prorated - Decimal("0.5")
        else:  # fees and true-up come to the prorated minimum, within half a cent
            assert true_up.amount_cents > 0
            assert abs(billed - prorated) <= Decimal("0.5")
