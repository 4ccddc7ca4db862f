"""Charge properties are bounded so that no price can overflow the fee it makes (issue 9)."""

from __future__ import annotations

import pytest

from bxb.billing.charge_properties import ChargePropertiesError
from bxb.billing.charges import charge_from_properties


@pytest.mark.parametrize(
    "amount", ["1e999999999", "1000000000000000", "0.0000000000000001", "1e-100000"]
)
def test_a_price_beyond_the_bounds_is_refused(amount: str) -> None:
    with pytest.raises(ChargePropertiesError) as refused:
        charge_from_properties("standard", {"amount": amount})
    assert "amount" in refused.value.errors


@pytest.mark.parametrize("amount", ["999999999999999.999999999999999", "0.000000000000001", "1.5"])
def test_a_price_within_the_bounds_is_kept(amount: str) -> None:
    charge_from_properties("standard", {"amount": amount})


def test_a_package_size_beyond_the_bounds_is_refused() -> None:
    with pytest.raises(ChargePropertiesError) as refused:
        charge_from_properties("package", {"amount": "1", "package_size": 10**16, "free_units": 0})
    assert "package_size" in refused.value.errors
