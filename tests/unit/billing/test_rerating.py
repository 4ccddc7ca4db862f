"""Re-rating: which fees went up or down, and the corrective fee's discount."""

from __future__ import annotations

from decimal import Decimal

from bxb.billing.rerating import Change, RatedFee, compare, corrective_coupons


def test_compare_splits_fees_that_went_down_and_up() -> None:
    billed = {"a": RatedFee(5000, Decimal(100), 1), "b": RatedFee(500, Decimal(10), 1)}
    rated = {
        "a": RatedFee(3500, Decimal(70), 2),
        "b": RatedFee(2500, Decimal(50), 2),
        "c": RatedFee(100, Decimal(1), 1),
        "d": RatedFee(0, Decimal(0), 0),
    }
    change = compare(billed, rated)
    assert change.decreases == (Change("a", 1500, Decimal(-30), 1),)
    assert change.increases == (
        Change("b", 2000, Decimal(40), 1),
        Change("c", 100, Decimal(1), 1),
    )
    assert change.changed


def test_nothing_changed() -> None:
    billed = {"a": RatedFee(5000, Decimal(100), 1)}
    # More events that amount to the same (a graduated tier's flat part): no document.
    assert not compare(billed, {"a": RatedFee(5000, Decimal(100), 3)}).changed
    # A fee that billed nothing and still bills nothing.
    assert not compare({}, {"a": RatedFee(0)}).changed


def test_corrective_coupons_follow_the_original_rate_of_discount() -> None:
    assert corrective_coupons(2000, 500, 50) == 200
    assert corrective_coupons(333, 1000, 100) == 33  # 33.3 rounds half-up to 33
    assert corrective_coupons(5, 1000, 100) == 1  # 0.5 rounds up
    assert corrective_coupons(100, 100, 100) == 100  # never more than the increase
    assert corrective_coupons(100, 0, 0) == 0
    assert corrective_coupons(100, 100, 0) == 0
