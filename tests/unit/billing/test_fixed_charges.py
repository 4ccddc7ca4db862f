"""Fixed charge fees: units priced by their model, prorated by days (amounts by hand)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bxb.billing.fixed_charges import fixed_fee

TIERS = [
    {"from_value": 0, "to_value": 10, "per_unit_amount": "5", "flat_amount": "1"},
    {"from_value": 11, "to_value": None, "per_unit_amount": "4", "flat_amount": "0"},
]


def test_standard_in_full_ignores_the_days() -> None:
    fee = fixed_fee(
        "standard", {"amount": "12.50"}, Decimal(3), "USD", days=5, full_days=31, prorated=False
    )
    assert (fee.amount_cents, fee.units) == (3750, Decimal(3))


def test_standard_prorated_weights_units_to_six_places() -> None:
    # 2 × 22/31 = 1.41935483… → 1.419355 units × $31 = $44.000005 → $44.00.
    fee = fixed_fee(
        "standard", {"amount": "31"}, Decimal(2), "USD", days=22, full_days=31, prorated=True
    )
    assert fee.units == Decimal("1.419355")
    assert fee.amount_cents == 4400


def test_graduated_prices_each_tier() -> None:
    # 12 units: 10 × $5 + $1 flat, then 2 × $4 = $59.00.
    fee = fixed_fee(
        "graduated",
        {"graduated_ranges": TIERS},
        Decimal(12),
        "USD",
        days=1,
        full_days=30,
        prorated=False,
    )
    assert fee.amount_cents == 5900


def test_volume_prorated_picks_the_tier_of_the_full_units() -> None:
    # 12 units fall in the $4 tier: $48.00, for 15 of 30 days: $24.00.
    fee = fixed_fee(
        "volume",
        {"volume_ranges": TIERS},
        Decimal(12),
        "USD",
        days=15,
        full_days=30,
        prorated=True,
    )
    assert fee.amount_cents == 2400


@given(
    units=st.decimals(min_value=0, max_value=10_000, places=2),
    days=st.integers(min_value=0, max_value=31),
)
def test_a_prorated_fee_never_exceeds_the_full_one(units: Decimal, days: int) -> None:
    full = fixed_fee(
        "standard", {"amount": "3.33"}, units, "USD", days=31, full_days=31, prorated=True
    )
    part = fixed_fee(
        "standard", {"amount": "3.33"}, units, "USD", days=days, full_days=31, prorated=True
    )
    assert 0 <= part.amount_cents <= full.amount_cents
