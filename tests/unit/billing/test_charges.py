"""Charge models: worked examples computed by hand, validation, and properties."""

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bxb.billing.charge_amounts import PackageDetails, PercentageDetails, TieredDetails
from bxb.billing.charge_properties import ChargePropertiesError
from bxb.billing.charges import (
    Charge,
    ChargeModel,
    GraduatedCharge,
    GraduatedPercentageCharge,
    PackageCharge,
    StandardCharge,
    VolumeCharge,
    charge_from_properties,
)
from bxb.billing.money import UnknownCurrencyError, round_minor
from bxb.billing.percentage_charge import PercentageCharge

D = Decimal


def dec(values: list[str]) -> list[Decimal]:
    return [D(v) for v in values]


# --- standard ----------------------------------------------------------------------------


def test_standard_price_per_unit() -> None:
    charge = StandardCharge.from_properties({"amount": "0.05"})
    fee = charge.compute(D(1000), "USD")
    # 1,000 API calls × $0.05 = $50.00 → 5000 cents
    assert fee.amount_cents == 5000
    assert fee.units == D(1000)
    assert fee.details is None


def test_standard_zero_usage() -> None:
    assert StandardCharge(D("0.05")).compute(D(0), "USD").amount_cents == 0


def test_standard_negative_usage_bills_nothing() -> None:
    assert StandardCharge(D("0.05")).compute(D(-10), "USD").amount_cents == 0


def test_standard_jpy_has_no_minor_unit() -> None:
    # 7 units × ¥3 = ¥21 → 21 (JPY exponent 0)
    assert StandardCharge(D(3)).compute(D(7), "JPY").amount_cents == 21
    # 3 units × ¥0.5 = ¥1.5 → rounds half-up to ¥2
    assert StandardCharge(D("0.5")).compute(D(3), "JPY").amount_cents == 2


def test_standard_kwd_has_three_decimals() -> None:
    # 3 units × 0.125 KWD = 0.375 KWD → 375 fils
    assert StandardCharge(D("0.125")).compute(D(3), "KWD").amount_cents == 375


def test_standard_rounds_once_not_per_unit() -> None:
    fee = StandardCharge(D("0.005")).compute(D(3), "USD")
    # 3 × $0.005 = $0.015 = 1.5 cents → 2 cents, rounded once
    assert fee.exact_amount_minor == D("1.5")
    assert fee.amount_cents == 2
    # rounding each unit first would give 3 × round(0.5 cent) = 3 × 1 = 3 cents
    assert 3 * round_minor(D("0.5")) == 3


def test_standard_fractional_units() -> None:
    # 2.5 GB × $0.10 = $0.25
    assert StandardCharge(D("0.10")).compute(D("2.5"), "USD").amount_cents == 25


def test_events_count_is_reported() -> None:
    fee = StandardCharge(D(1)).compute(D(3), "USD", per_event_values=dec(["1", "1", "1"]))
    assert fee.events_count == 3
    assert StandardCharge(D(1)).compute(D(3), "USD", events_count=5).events_count == 5


def test_events_count_must_agree_with_per_event_values() -> None:
    with pytest.raises(ValueError, match="disagrees"):
        StandardCharge(D(1)).compute(D(2), "USD", per_event_values=dec(["1", "1"]), events_count=3)
    with pytest.raises(ValueError, match="negative"):
        StandardCharge(D(1)).compute(D(2), "USD", events_count=-1)


# --- graduated ---------------------------------------------------------------------------

TWO_TIERS = {
    "graduated_ranges": [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "0.5", "flat_amount": "1"},
        {"from_value": 11, "to_value": None, "per_unit_amount": "0.4", "flat_amount": "0"},
    ]
}

THREE_TIERS = {
    "graduated_ranges": [
        {"from_value": 0, "to_value": 100, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 101, "to_value": 200, "per_unit_amount": "0.5", "flat_amount": "20"},
        {"from_value": 201, "to_value": None, "per_unit_amount": "0.1", "flat_amount": "50"},
    ]
}


def test_graduated_prices_tier_by_tier() -> None:
    fee = GraduatedCharge.from_properties(TWO_TIERS).compute(D(15), "USD")
    # 10 units × $0.50 + flat $1.00 + 5 units × $0.40 = $5 + $1 + $2 = $8.00 → 800 cents
    assert fee.amount_cents == 800
    assert isinstance(fee.details, TieredDetails)
    first, second = fee.details.tiers
    assert (first.from_value, first.to_value, first.units) == (0, 10, D(10))
    assert (first.per_unit_total_minor, first.flat_amount_minor) == (D(500), D(100))
    assert (second.from_value, second.to_value, second.units) == (11, None, D(5))
    assert second.per_unit_amount == D("0.4")
    assert second.total_minor == D(200)


@pytest.mark.parametrize(
    ("units", "cents"),
    [
        # 100 × $1 = $100; tier 2 not entered, so its $20 flat is not due
        ("100", 10_000),
        # 100 × $1 + (1 × $0.50 + $20 flat) = $120.50
        ("101", 12_050),
        # 100 × $1 + (100 × $0.50 + $20) + (50 × $0.10 + $50) = 100 + 70 + 55 = $225
        ("250", 22_500),
        # a fraction past a bound enters the next tier: 100 + 0.5 × $0.50 + $20 = $120.25
        ("100.5", 12_025),
        # no usage, no tier entered: $0
        ("0", 0),
    ],
)
def test_graduated_flat_amount_applies_when_entering_a_tier(units: str, cents: int) -> None:
    charge = GraduatedCharge.from_properties(THREE_TIERS)
    assert charge.compute(D(units), "USD").amount_cents == cents


def test_graduated_zero_usage_has_no_tiers() -> None:
    fee = GraduatedCharge.from_properties(TWO_TIERS).compute(D(0), "USD")
    assert fee.amount_cents == 0
    assert fee.details == TieredDetails(())


def test_graduated_spec_example_in_jpy() -> None:
    props = {
        "graduated_ranges": [
            {"from_value": 0, "to_value": 10, "per_unit_amount": "15", "flat_amount": "100"},
            {"from_value": 11, "to_value": None, "per_unit_amount": "12.5", "flat_amount": "0"},
        ]
    }
    # 10 × ¥15 + ¥100 + 3 × ¥12.5 = 150 + 100 + 37.5 = ¥287.5 → ¥288
    assert GraduatedCharge.from_properties(props).compute(D(13), "JPY").amount_cents == 288


# --- volume ------------------------------------------------------------------------------

VOLUME = {
    "volume_ranges": [
        {"from_value": 0, "to_value": 100, "per_unit_amount": "2", "flat_amount": "1"},
        {"from_value": 101, "to_value": None, "per_unit_amount": "1", "flat_amount": "0"},
    ]
}


@pytest.mark.parametrize(
    ("units", "cents"),
    [
        ("50", 10_100),  # 50 × $2 + $1 flat = $101
        ("100", 20_100),  # 100 × $2 + $1 flat = $201
        ("150", 15_000),  # all 150 units at tier 2: 150 × $1 + $0 = $150
        ("100.5", 10_050),  # 100.5 is above 100: tier 2, 100.5 × $1 = $100.50
        ("0", 0),  # no usage: not even tier 1's flat amount
    ],
)
def test_volume_prices_all_units_at_one_tier(units: str, cents: int) -> None:
    charge = VolumeCharge.from_properties(VOLUME)
    assert charge.compute(D(units), "USD").amount_cents == cents


def test_volume_details_name_the_tier() -> None:
    fee = VolumeCharge.from_properties(VOLUME).compute(D(150), "USD")
    assert isinstance(fee.details, TieredDetails)
    (tier,) = fee.details.tiers
    assert (tier.from_value, tier.to_value, tier.units, tier.per_unit_amount) == (
        101,
        None,
        D(150),
        D(1),
    )


def test_volume_kwd() -> None:
    props = {
        "volume_ranges": [
            {"from_value": 0, "to_value": 10, "per_unit_amount": "0.0125", "flat_amount": "0"},
            {"from_value": 11, "to_value": None, "per_unit_amount": "0.01", "flat_amount": "0.1"},
        ]
    }
    # 7 × 0.0125 KWD = 0.0875 KWD = 87.5 fils → 88
    assert VolumeCharge.from_properties(props).compute(D(7), "KWD").amount_cents == 88


# --- package -----------------------------------------------------------------------------

PACKAGE = {"amount": "30", "free_units": 100, "package_size": 1000}


@pytest.mark.parametrize(
    ("units", "cents", "packages"),
    [
        ("0", 0, 0),
        ("100", 0, 0),  # all within the 100 free units
        ("101", 3000, 1),  # 1 paid unit starts a package: $30
        ("1100", 3000, 1),  # 1000 paid units = exactly one package
        ("1101", 6000, 2),  # 1001 paid units: a second package is started → 2 × $30
        ("100.5", 3000, 1),  # half a paid unit still starts a package
        ("5100", 15_000, 5),  # 5000 paid units = 5 packages
    ],
)
def test_package_rounds_started_packages_up(units: str, cents: int, packages: int) -> None:
    fee = PackageCharge.from_properties(PACKAGE).compute(D(units), "USD")
    assert fee.amount_cents == cents
    assert isinstance(fee.details, PackageDetails)
    assert fee.details.packages == packages


def test_package_details() -> None:
    fee = PackageCharge.from_properties(PACKAGE).compute(D(1101), "USD")
    assert fee.details == PackageDetails(
        free_units=D(100),
        paid_units=D(1001),
        package_size=1000,
        packages=2,
        per_package_amount=D(30),
    )
    few = PackageCharge.from_properties(PACKAGE).compute(D(40), "USD")
    assert isinstance(few.details, PackageDetails)
    assert (few.details.free_units, few.details.paid_units) == (D(40), D(0))


def test_package_free_units_default_to_zero() -> None:
    charge = PackageCharge.from_properties({"amount": "5", "package_size": "10"})
    # 25 units → 3 packages of 10 (the last one started) × $5 = $15
    assert charge == PackageCharge(D(5), 10, 0)
    assert charge.compute(D(25), "USD").amount_cents == 1500


# --- percentage --------------------------------------------------------------------------


def test_percentage_rate_only() -> None:
    charge = PercentageCharge.from_properties({"rate": "2.5"})
    # 2.5 % of $1,234.56 = $30.864 = 3086.4 cents → 3086
    assert charge.compute(D("1234.56"), "USD").amount_cents == 3086


def test_percentage_with_fixed_fee_per_transaction() -> None:
    charge = PercentageCharge.from_properties({"rate": "1", "fixed_amount": "0.5"})
    values = dec(["10", "20", "30", "40"])
    fee = charge.compute(D(100), "USD", per_event_values=values)
    # 1 % × $100 = $1.00, + 4 transactions × $0.50 = $2.00 → $3.00
    assert fee.amount_cents == 300
    # the event count alone is enough without free events or min/max
    assert charge.compute(D(100), "USD", events_count=4).amount_cents == 300


def test_percentage_lago_docs_example() -> None:
    # Lago docs: 1.2 % + $0.10, first 3 events or $500 free; events $200, $100, $100, $50
    charge = PercentageCharge.from_properties(
        {
            "rate": "1.2",
            "fixed_amount": "0.10",
            "free_units_per_events": 3,
            "free_units_per_total_aggregation": "500",
        }
    )
    fee = charge.compute(D(450), "USD", per_event_values=dec(["200", "100", "100", "50"]))
    # exempt = min($200 + $100 + $100, $500) = $400; 1.2 % × ($450 − $400) = $0.60
    # fixed fee: 4 − 3 free = 1 paid transaction × $0.10 = $0.10 → $0.70
    assert fee.amount_cents == 70
    assert fee.details == PercentageDetails(
        rate=D("1.2"),
        units=D(450),
        free_units=D(400),
        paid_units=D(50),
        free_events=3,
        paid_events=1,
        rate_amount_minor=D("60.0"),
        fixed_fee_unit_amount=D("0.10"),
        fixed_fee_total_minor=D("10.0"),
        bounds_adjustment_minor=D(0),
    )


def test_percentage_free_amount_runs_out_before_free_events() -> None:
    charge = PercentageCharge(
        D("1.2"), D("0.10"), free_units_per_events=3, free_units_per_total_aggregation=D(500)
    )
    fee = charge.compute(D(750), "USD", per_event_values=dec(["300", "300", "100", "50"]))
    # exempt = min($300 + $300 + $100, $500) = $500; 1.2 % × $250 = $3.00
    # fixed fee on the 4th transaction only: $0.10 → $3.10
    assert fee.amount_cents == 310


def test_percentage_free_total_aggregation_only() -> None:
    charge = PercentageCharge.from_properties(
        {"rate": "1", "fixed_amount": "0.1", "free_units_per_total_aggregation": "500"}
    )
    # 1 % × ($1,200 − $500) = $7.00; every one of the 3 transactions pays $0.10 → $7.30
    assert charge.compute(D(1200), "USD", events_count=3).amount_cents == 730
    # less than the free amount: only fixed fees, 2 × $0.10
    assert charge.compute(D(300), "USD", events_count=2).amount_cents == 20


def test_percentage_free_events_only() -> None:
    charge = PercentageCharge(D(2), D("0.25"), free_units_per_events=2)
    fee = charge.compute(D(160), "USD", per_event_values=dec(["50", "10", "100"]))
    # first 2 transactions ($60) free of rate and fee; 2 % × $100 + $0.25 = $2.25
    assert fee.amount_cents == 225
    # when every transaction is free, their amounts are not needed
    assert charge.compute(D(60), "USD", events_count=2).amount_cents == 0


def test_percentage_min_max_clamp_each_transaction() -> None:
    charge = PercentageCharge.from_properties(
        {
            "rate": "2",
            "fixed_amount": "0.25",
            "per_transaction_min_amount": "1",
            "per_transaction_max_amount": "5",
        }
    )
    fee = charge.compute(D(1110), "USD", per_event_values=dec(["10", "100", "1000"]))
    # $10:   2 % = $0.20 + $0.25 = $0.45  → raised to the $1.00 minimum
    # $100:  2 % = $2.00 + $0.25 = $2.25  (within bounds)
    # $1000: 2 % = $20.00 + $0.25 = $20.25 → capped at the $5.00 maximum
    # $1.00 + $2.25 + $5.00 = $8.25 → 825 cents
    assert fee.amount_cents == 825
    assert isinstance(fee.details, PercentageDetails)
    # unclamped it would be $0.45 + $2.25 + $20.25 = $22.95: clamps removed $14.70
    assert fee.details.bounds_adjustment_minor == D(-1470)


def test_percentage_maximum_alone() -> None:
    charge = PercentageCharge.from_properties({"rate": "3", "per_transaction_max_amount": "2"})
    fee = charge.compute(D(150), "USD", per_event_values=dec(["50", "100"]))
    # $50: 3 % = $1.50; $100: 3 % = $3.00 → capped at $2.00; $1.50 + $2.00 = $3.50
    assert fee.amount_cents == 350


def test_percentage_min_max_skip_free_transactions() -> None:
    charge = PercentageCharge(
        D(2),
        D("0.25"),
        free_units_per_events=1,
        per_transaction_min_amount=D(1),
        per_transaction_max_amount=D(5),
    )
    fee = charge.compute(D(1110), "USD", per_event_values=dec(["10", "100", "1000"]))
    # $10 is the free transaction (no minimum); then $2.25 + $5.00 (capped) = $7.25
    assert fee.amount_cents == 725


def test_percentage_minimum_does_not_bill_exempt_transactions() -> None:
    charge = PercentageCharge(
        D(2), free_units_per_total_aggregation=D(50), per_transaction_min_amount=D(1)
    )
    fee = charge.compute(D(145), "USD", per_event_values=dec(["10", "30", "100", "5"]))
    # $50 exempt: $10 and $30 wholly exempt and fee-free → stay free
    # $100: $10 exempt, 2 % × $90 = $1.80 (above the minimum)
    # $5: 2 % = $0.10 → raised to the $1.00 minimum
    # $1.80 + $1.00 = $2.80
    assert fee.amount_cents == 280


def test_percentage_minimum_applies_to_zero_amount_paid_transaction() -> None:
    charge = PercentageCharge(D(2), per_transaction_min_amount=D("0.3"))
    # a $0 transaction still pays the $0.30 minimum; $20 → 2 % = $0.40
    assert charge.compute(D(20), "USD", per_event_values=dec(["0", "20"])).amount_cents == 70


def test_percentage_min_max_with_only_free_events_need_no_values() -> None:
    charge = PercentageCharge(D(2), free_units_per_events=5, per_transaction_min_amount=D(1))
    assert charge.compute(D(30), "USD", events_count=3).amount_cents == 0


def test_percentage_negative_transaction_is_not_refunded() -> None:
    charge = PercentageCharge(D(10), per_transaction_min_amount=D(0))
    # −$50 bills like $0 (min $0), $100 → $10
    assert charge.compute(D(50), "USD", per_event_values=dec(["-50", "100"])).amount_cents == 1000


def test_percentage_jpy() -> None:
    charge = PercentageCharge(D("3.6"), D(30))
    # 3.6 % × ¥12,345 = ¥444.42, + 2 × ¥30 = ¥504.42 → ¥504
    assert charge.compute(D(12345), "JPY", events_count=2).amount_cents == 504


def test_percentage_zero_usage() -> None:
    charge = PercentageCharge(D(1), D("0.5"), free_units_per_events=2)
    assert charge.compute(D(0), "USD").amount_cents == 0


def test_percentage_needs_per_event_values_for_min_max() -> None:
    charge = PercentageCharge(D(1), per_transaction_max_amount=D(1))
    with pytest.raises(ValueError, match="min/max amounts need per_event_values"):
        charge.compute(D(100), "USD", events_count=2)


def test_percentage_needs_per_event_values_for_free_events() -> None:
    charge = PercentageCharge(D(1), free_units_per_events=1)
    with pytest.raises(ValueError, match="free_units_per_events needs per_event_values"):
        charge.compute(D(100), "USD", events_count=2)


def test_percentage_per_event_values_must_sum_to_units() -> None:
    with pytest.raises(ValueError, match="sum to units"):
        PercentageCharge(D(1)).compute(D(100), "USD", per_event_values=dec(["1", "2"]))


# --- graduated percentage ----------------------------------------------------------------

GRADUATED_PERCENTAGE = {
    "graduated_percentage_ranges": [
        {"from_value": 0, "to_value": 1000, "rate": "1", "flat_amount": "200"},
        {"from_value": 1001, "to_value": 10000, "rate": "2", "flat_amount": "300"},
        {"from_value": 10001, "to_value": None, "rate": "3", "flat_amount": "400"},
    ]
}


@pytest.mark.parametrize(
    ("units", "cents"),
    [
        ("0", 0),
        # 500 × 1 % + $200 flat = $205 (Lago docs)
        ("500", 20_500),
        # 1000 × 1 % + $200 + 50 × 2 % + $300 = 10 + 200 + 1 + 300 = $511
        ("1050", 51_100),
        # 10 + 200 + 9000 × 2 % + 300 + 2000 × 3 % + 400 = 10+200+180+300+60+400 = $1,150
        ("12000", 115_000),
        # 1000.25 enters tier 2: 10 + 200 + 0.25 × 2 % (= $0.005) + 300 = $510.005 → $510.01
        ("1000.25", 51_001),
    ],
)
def test_graduated_percentage(units: str, cents: int) -> None:
    charge = GraduatedPercentageCharge.from_properties(GRADUATED_PERCENTAGE)
    assert charge.compute(D(units), "USD").amount_cents == cents


def test_graduated_percentage_details_carry_rates() -> None:
    fee = GraduatedPercentageCharge.from_properties(GRADUATED_PERCENTAGE).compute(D(1050), "USD")
    assert isinstance(fee.details, TieredDetails)
    assert [(t.rate, t.units, t.per_unit_amount) for t in fee.details.tiers] == [
        (D(1), D(1000), None),
        (D(2), D(50), None),
    ]


# --- factory and validation --------------------------------------------------------------


@pytest.mark.parametrize(
    "charge",
    [
        StandardCharge(D(1)),
        GraduatedCharge.from_properties(TWO_TIERS),
        VolumeCharge.from_properties(VOLUME),
        PackageCharge.from_properties(PACKAGE),
        PercentageCharge(D(1)),
        GraduatedPercentageCharge.from_properties(GRADUATED_PERCENTAGE),
    ],
)
def test_unknown_currency_fails_even_without_usage(charge: Charge) -> None:
    with pytest.raises(UnknownCurrencyError):
        charge.compute(D(0), "XYZ")


@pytest.mark.parametrize(
    ("model", "props", "cls"),
    [
        ("standard", {"amount": "1"}, StandardCharge),
        (ChargeModel.GRADUATED, TWO_TIERS, GraduatedCharge),
        ("volume", VOLUME, VolumeCharge),
        ("package", PACKAGE, PackageCharge),
        ("percentage", {"rate": "1"}, PercentageCharge),
        ("graduated_percentage", GRADUATED_PERCENTAGE, GraduatedPercentageCharge),
    ],
)
def test_charge_from_properties(model: str, props: dict[str, Any], cls: type) -> None:
    assert isinstance(charge_from_properties(model, props), cls)


def errors_of(model: str, props: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ChargePropertiesError) as info:
        charge_from_properties(model, props)
    assert isinstance(info.value, ValueError)
    return info.value.errors


def test_unknown_charge_model() -> None:
    assert errors_of("dynamic", {}) == {"charge_model": ["value_is_invalid"]}


@pytest.mark.parametrize("amount", [None, "-1", "abc", "", True, [], "NaN", "Infinity", -2])
def test_standard_invalid_amount(amount: object) -> None:
    assert errors_of("standard", {"amount": amount}) == {"amount": ["invalid_amount"]}


@pytest.mark.parametrize("amount", ["0", "0.00001", 3, 2.5, Decimal("1.5"), " 7 "])
def test_standard_accepts_amounts(amount: object) -> None:
    assert StandardCharge.from_properties({"amount": amount}).amount >= 0


def ranges(*bounds: tuple[object, object]) -> list[dict[str, object]]:
    return [
        {"from_value": f, "to_value": t, "per_unit_amount": "1", "flat_amount": "0"}
        for f, t in bounds
    ]


@pytest.mark.parametrize(
    "bad",
    [
        ranges((1, None)),  # does not start at 0
        ranges((0, 10), (12, None)),  # gap between 10 and 12
        ranges((0, 10), (10, None)),  # overlap: next from must be 11
        ranges((0, 10), (11, 20)),  # last range must be open
        ranges((0, None), (1, None)),  # only the last range may be open
        ranges((0, 0), (1, None)),  # to_value must be above from_value
        ranges((0, 10), (11, 5), (6, None)),  # to_value below from_value
        ranges(("x", None)),  # from_value not an integer
        ranges((0, "ten"), (11, None)),  # to_value not an integer
        ranges((-1, None)),  # negative
        ["not a range"],
    ],
)
def test_graduated_invalid_ranges(bad: list[object]) -> None:
    errors = errors_of("graduated", {"graduated_ranges": bad})
    assert errors == {"graduated_ranges": ["invalid_graduated_ranges"]}


@pytest.mark.parametrize("missing", [None, []])
def test_graduated_missing_ranges(missing: object) -> None:
    errors = errors_of("graduated", {"graduated_ranges": missing})
    assert errors == {"graduated_ranges": ["missing_graduated_ranges"]}


@pytest.mark.parametrize("not_a_list", ["0-10", {"from_value": 0}, 5])
def test_graduated_ranges_must_be_a_list(not_a_list: object) -> None:
    errors = errors_of("graduated", {"graduated_ranges": not_a_list})
    assert errors == {"graduated_ranges": ["invalid_graduated_ranges"]}


def test_graduated_reports_every_problem_at_once() -> None:
    bad = [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "-1", "flat_amount": "0"},
        {"from_value": 12, "to_value": None, "per_unit_amount": "1", "flat_amount": "abc"},
    ]
    assert errors_of("graduated", {"graduated_ranges": bad}) == {
        "per_unit_amount": ["invalid_amount"],
        "flat_amount": ["invalid_amount"],
        "graduated_ranges": ["invalid_graduated_ranges"],
    }


def test_graduated_reports_each_code_once() -> None:
    bad = [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "x", "flat_amount": "0"},
        {"from_value": 11, "to_value": None, "per_unit_amount": "y", "flat_amount": "0"},
    ]
    assert errors_of("graduated", {"graduated_ranges": bad}) == {
        "per_unit_amount": ["invalid_amount"]
    }


def test_graduated_range_missing_amounts() -> None:
    bad = [{"from_value": 0, "to_value": None}]
    assert errors_of("graduated", {"graduated_ranges": bad}) == {
        "per_unit_amount": ["invalid_amount"],
        "flat_amount": ["invalid_amount"],
    }


def test_graduated_accepts_integer_strings_for_bounds() -> None:
    ok = ranges(("0", "10"), ("11", None))
    charge = GraduatedCharge.from_properties({"graduated_ranges": ok})
    assert [(t.from_value, t.to_value) for t in charge.ranges] == [(0, 10), (11, None)]


def test_volume_invalid_ranges() -> None:
    assert errors_of("volume", {}) == {"volume_ranges": ["missing_volume_ranges"]}
    assert errors_of("volume", {"volume_ranges": ranges((0, 5))}) == {
        "volume_ranges": ["invalid_volume_ranges"]
    }


def test_graduated_percentage_invalid() -> None:
    bad = [{"from_value": 0, "to_value": None, "rate": "x", "flat_amount": "0"}]
    assert errors_of("graduated_percentage", {"graduated_percentage_ranges": bad}) == {
        "rate": ["invalid_rate"]
    }
    assert errors_of("graduated_percentage", {}) == {
        "graduated_percentage_ranges": ["missing_graduated_percentage_ranges"]
    }


@pytest.mark.parametrize(
    ("props", "errors"),
    [
        ({"package_size": 10}, {"amount": ["invalid_amount"]}),
        ({"amount": "1"}, {"package_size": ["invalid_package_size"]}),
        ({"amount": "1", "package_size": 0}, {"package_size": ["invalid_package_size"]}),
        ({"amount": "1", "package_size": "ten"}, {"package_size": ["invalid_package_size"]}),
        ({"amount": "1", "package_size": True}, {"package_size": ["invalid_package_size"]}),
        (
            {"amount": "1", "package_size": 10, "free_units": -1},
            {"free_units": ["invalid_free_units"]},
        ),
        (
            {"amount": "-1", "package_size": -5, "free_units": "x"},
            {
                "amount": ["invalid_amount"],
                "package_size": ["invalid_package_size"],
                "free_units": ["invalid_free_units"],
            },
        ),
    ],
)
def test_package_invalid(props: dict[str, Any], errors: dict[str, list[str]]) -> None:
    assert errors_of("package", props) == errors


@pytest.mark.parametrize(
    ("props", "errors"),
    [
        ({}, {"rate": ["invalid_rate"]}),
        ({"rate": "-1"}, {"rate": ["invalid_rate"]}),
        ({"rate": "1", "fixed_amount": "x"}, {"fixed_amount": ["invalid_fixed_amount"]}),
        (
            {"rate": "1", "free_units_per_events": -1},
            {"free_units_per_events": ["invalid_free_units_per_events"]},
        ),
        (
            {"rate": "1", "free_units_per_total_aggregation": "-5"},
            {"free_units_per_total_aggregation": ["invalid_free_units_per_total_aggregation"]},
        ),
        (
            {"rate": "1", "per_transaction_min_amount": "abc"},
            {"per_transaction_min_amount": ["invalid_per_transaction_min_amount"]},
        ),
        (
            {"rate": "1", "per_transaction_min_amount": "5", "per_transaction_max_amount": "2"},
            {"per_transaction_max_amount": ["per_transaction_max_lower_than_min"]},
        ),
    ],
)
def test_percentage_invalid(props: dict[str, Any], errors: dict[str, list[str]]) -> None:
    assert errors_of("percentage", props) == errors


def test_percentage_optional_properties_may_be_null() -> None:
    props = {
        "rate": "1",
        "fixed_amount": None,
        "free_units_per_events": None,
        "free_units_per_total_aggregation": None,
        "per_transaction_min_amount": None,
        "per_transaction_max_amount": None,
    }
    assert PercentageCharge.from_properties(props) == PercentageCharge(D(1))


# --- properties --------------------------------------------------------------------------

prices = st.decimals(min_value=0, max_value=100, places=5, allow_nan=False, allow_infinity=False)
flats = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
usage = st.decimals(min_value=-10, max_value=5000, places=3, allow_nan=False, allow_infinity=False)
currencies = st.sampled_from(["USD", "JPY", "KWD"])


@st.composite
def tier_props(draw: st.DrawFn, price_key: str = "per_unit_amount") -> list[dict[str, Any]]:
    widths = draw(st.lists(st.integers(min_value=1, max_value=500), min_size=0, max_size=4))
    result: list[dict[str, Any]] = []
    start = 0
    for width in widths:
        result.append(
            {
                "from_value": start,
                "to_value": start + width,
                price_key: str(draw(prices)),
                "flat_amount": str(draw(flats)),
            }
        )
        start += width + 1
    result.append(
        {"from_value": start, "to_value": None, price_key: str(draw(prices)), "flat_amount": "0"}
    )
    return result


@given(tier_props(), usage, currencies)
def test_graduated_total_is_sum_of_tiers(
    props: list[dict[str, Any]], units: Decimal, currency: str
) -> None:
    fee = GraduatedCharge.from_properties({"graduated_ranges": props}).compute(units, currency)
    assert isinstance(fee.details, TieredDetails)
    assert fee.exact_amount_minor == sum((t.total_minor for t in fee.details.tiers), D(0))
    assert sum((t.units for t in fee.details.tiers), D(0)) == max(units, D(0))
    assert fee.amount_cents == round_minor(fee.exact_amount_minor)
    assert fee.amount_cents >= 0


@given(tier_props(), usage, usage, currencies)
def test_graduated_never_decreases_with_usage(
    props: list[dict[str, Any]], a: Decimal, b: Decimal, currency: str
) -> None:
    charge = GraduatedCharge.from_properties({"graduated_ranges": props})
    low, high = sorted((a, b))
    assert charge.compute(low, currency).amount_cents <= charge.compute(high, currency).amount_cents


@given(tier_props(), usage, currencies)
def test_volume_prices_every_unit_at_exactly_one_tier(
    props: list[dict[str, Any]], units: Decimal, currency: str
) -> None:
    charge = VolumeCharge.from_properties({"volume_ranges": props})
    fee = charge.compute(units, currency)
    assert isinstance(fee.details, TieredDetails)
    if units <= 0:
        assert fee.details.tiers == ()
        assert fee.amount_cents == 0
        return
    (tier,) = fee.details.tiers
    assert tier.units == units
    lower = max(tier.from_value - 1, 0)
    assert lower < units
    assert tier.to_value is None or units <= tier.to_value
    chosen = charge.tier_for(units)
    exact = (units * chosen.price + chosen.flat_amount).scaleb(
        {"USD": 2, "JPY": 0, "KWD": 3}[currency]
    )
    assert fee.exact_amount_minor == exact
    assert fee.amount_cents == round_minor(exact)


@given(prices, usage, currencies)
def test_standard_rounds_once(price: Decimal, units: Decimal, currency: str) -> None:
    fee = StandardCharge(price).compute(units, currency)
    exponent = {"USD": 2, "JPY": 0, "KWD": 3}[currency]
    assert fee.amount_cents == round_minor((max(units, D(0)) * price).scaleb(exponent))
    assert fee.amount_cents >= 0


@given(
    prices,
    st.integers(min_value=1, max_value=1000),
    st.integers(min_value=0, max_value=1000),
    usage,
)
def test_package_never_negative_and_whole_packages(
    price: Decimal, size: int, free: int, units: Decimal
) -> None:
    fee = PackageCharge(price, size, free).compute(units, "USD")
    assert isinstance(fee.details, PackageDetails)
    assert fee.amount_cents >= 0
    paid = max(units - free, D(0))
    assert (fee.details.packages - 1) * size < paid <= fee.details.packages * size or (
        paid == 0 and fee.details.packages == 0
    )


transactions = st.lists(
    st.decimals(min_value=0, max_value=2000, places=2, allow_nan=False, allow_infinity=False),
    max_size=12,
)


@given(
    transactions,
    prices,
    prices,
    st.integers(min_value=0, max_value=5),
    st.none() | st.decimals(min_value=0, max_value=3000, places=2),
)
def test_percentage_without_bounds_matches_per_transaction_sum(
    values: list[Decimal],
    rate: Decimal,
    fixed: Decimal,
    free_events: int,
    free_total: Decimal | None,
) -> None:
    # min 0 and an unreachable max do not clamp anything, so the per-transaction path must
    # give exactly the aggregate formula's result
    plain = PercentageCharge(rate, fixed, free_events, free_total)
    bounded = PercentageCharge(rate, fixed, free_events, free_total, D(0), D(10) ** 9)
    units = sum(values, D(0))
    a = plain.compute(units, "USD", per_event_values=values)
    b = bounded.compute(units, "USD", per_event_values=values)
    assert a.amount_cents == b.amount_cents >= 0
    assert a.exact_amount_minor == b.exact_amount_minor


@given(transactions, prices, prices, prices, prices)
def test_percentage_bounds_hold_per_transaction(
    values: list[Decimal], rate: Decimal, fixed: Decimal, low: Decimal, span: Decimal
) -> None:
    charge = PercentageCharge(
        rate, fixed, per_transaction_min_amount=low, per_transaction_max_amount=low + span
    )
    fee = charge.compute(sum(values, D(0)), "USD", per_event_values=values)
    # every transaction is paid (no free allowance), so the fee lies within n × [min, max]
    assert len(values) * low * 100 <= fee.exact_amount_minor <= len(values) * (low + span) * 100
    assert fee.amount_cents >= 0


@given(tier_props("rate"), usage)
def test_graduated_percentage_total_is_sum_of_tiers(
    props: list[dict[str, Any]], units: Decimal
) -> None:
    charge = GraduatedPercentageCharge.from_properties({"graduated_percentage_ranges": props})
    fee = charge.compute(units, "USD")
    assert isinstance(fee.details, TieredDetails)
    assert fee.exact_amount_minor == sum((t.total_minor for t in fee.details.tiers), D(0))
    assert fee.amount_cents >= 0
