"""Instant fees of pay-in-advance charges, per charge model, amounts worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bxb.billing.aggregation import AggregationType, UsageEvent
from bxb.billing.filters import ChargeFilter
from bxb.billing.instant_fees import instant_fees
from bxb.billing.usage import UsageCharge

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 2, 1, tzinfo=UTC)


def _charge(model: str, properties: dict[str, Any], **extra: Any) -> UsageCharge:
    return UsageCharge(
        charge_id="c",
        billable_metric_id="m",
        billable_metric_code="amount",
        billable_metric_name="Amount",
        aggregation_type=extra.pop("aggregation_type", AggregationType.SUM),
        field_name=extra.pop("field_name", "value"),
        charge_model=model,
        properties=properties,
        **extra,
    )


def _events(*values: Any, **props: Any) -> list[UsageEvent]:
    return [
        UsageEvent(START + timedelta(hours=n), {"value": v, **props}, f"tx_{n}")
        for n, v in enumerate(values)
    ]


def _amounts(charge: UsageCharge, events: list[UsageEvent], billed: int = 0) -> list[int]:
    fees = instant_fees(charge, events[:billed], events[billed:], START, END, "USD")
    return [fee.amount_cents for fee in fees]


def test_standard_bills_each_event_units() -> None:
    charge = _charge("standard", {"amount": "0.25"})
    # 3 × $0.25 = 75; 10 × $0.25 = 250; 0.5 × $0.25 = 12.5 → 13 (half up)
    fees = instant_fees(charge, [], _events(3, 10, "0.5"), START, END, "USD")
    assert [(f.amount_cents, f.units) for f in fees] == [
        (75, Decimal(3)),
        (250, Decimal(10)),
        (13, Decimal("0.5")),
    ]


def test_the_fees_add_up_whatever_the_arrival_order() -> None:
    charge = _charge("standard", {"amount": "0.10"})
    events = _events(1, 2, 3, 4)
    # Sent in two deliveries, the second holding an earlier event: billed one by one,
    # each on what was billed before it, the sum is the charge on all of them.
    first = instant_fees(charge, [], [events[3], events[1]], START, END, "USD")
    second = instant_fees(charge, [events[3], events[1]], [events[0], events[2]], START, END, "USD")
    assert sum(f.amount_cents for f in first + second) == 100  # 10 units × $0.10


def test_package_bills_a_package_when_an_event_opens_one() -> None:
    # $5 per 100 units, 50 free: 40 → free; +30 (70) → 1 package; +50 (120) → still 1;
    # +40 (160) → 2 packages.
    charge = _charge("package", {"amount": "5", "package_size": 100, "free_units": 50})
    assert _amounts(charge, _events(40, 30, 50, 40)) == [0, 500, 0, 500]


def test_graduated_bills_at_the_tier_reached_with_its_flat_amount() -> None:
    ranges = [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 11, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "2"},
    ]
    charge = _charge("graduated", {"graduated_ranges": ranges})
    # 8 units → 8 × $1 = 800; +4 (12): 2 × $1 + 2 × $0.50 + $2 flat = 500; +6 → 6 × $0.50.
    assert _amounts(charge, _events(8, 4, 6)) == [800, 500, 300]


def test_percentage_with_fixed_amount_free_events_and_bounds() -> None:
    charge = _charge(
        "percentage",
        {
            "rate": "2",
            "fixed_amount": "0.30",
            "free_units_per_events": 1,
            "per_transaction_min_amount": "1",
            "per_transaction_max_amount": "5",
        },
    )
    # 1st transaction free; $100: 2% = $2 + $0.30 = $2.30; $10: $0.50 → min $1;
    # $1000: $20.30 → max $5.
    assert _amounts(charge, _events(50, 100, 10, 1000)) == [0, 230, 100, 500]


def test_graduated_percentage() -> None:
    ranges = [
        {"from_value": 0, "to_value": 100, "rate": "1", "flat_amount": "0"},
        {"from_value": 101, "to_value": None, "rate": "0.5", "flat_amount": "1"},
    ]
    charge = _charge("graduated_percentage", {"graduated_percentage_ranges": ranges})
    # $80 at 1% = 80; +$70 (150): $20 at 1% + $50 at 0.5% + $1 flat = 20 + 25 + 100 = 145.
    assert _amounts(charge, _events(80, 70)) == [80, 145]


def test_each_filter_prices_with_its_own_properties() -> None:
    eu = ChargeFilter.from_payload(
        {"values": {"region": ["eu"]}, "properties": {"amount": "2"}, "invoice_display_name": None}
    )
    charge = _charge("standard", {"amount": "1"}, filters=(eu,))
    events = [*_events(3, region="eu"), *_events(5, region="us")]
    events = [
        UsageEvent(e.timestamp, e.properties, f"{e.transaction_id}_{i}")
        for i, e in enumerate(events)
    ]
    fees = instant_fees(charge, [], events, START, END, "USD")
    assert {(f.bucket, f.amount_cents) for f in fees} == {(0, 600), (None, 500)}


def test_events_without_the_field_or_outside_the_period_have_no_fee() -> None:
    charge = _charge("standard", {"amount": "1"})
    outside = UsageEvent(END, {"value": 1}, "tx_late")
    missing = UsageEvent(START, {}, "tx_missing")
    assert instant_fees(charge, [], [outside, missing], START, END, "USD") == []
    counted = _charge("standard", {"amount": "1"}, aggregation_type=AggregationType.COUNT)
    assert _amounts(counted, [missing]) == [100]


def test_fees_add_up_to_the_charge_on_the_whole_period() -> None:
    """Priced incrementally, the fees still sum to the charge model on all events."""
    from bxb.billing.aggregation import aggregate
    from bxb.billing.charges import charge_from_properties

    ranges = [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "0.13", "flat_amount": "1"},
        {"from_value": 11, "to_value": None, "per_unit_amount": "0.07", "flat_amount": "0.5"},
    ]
    cases = [
        _charge("graduated", {"graduated_ranges": ranges}),
        _charge("package", {"amount": "3", "package_size": 7, "free_units": 2}),
        _charge("percentage", {"rate": "1.5", "fixed_amount": "0.1", "free_units_per_events": 2}),
    ]
    events = _events(*[(n * 7) % 13 + 1 for n in range(40)])
    for charge in cases:
        fees = instant_fees(charge, [], events, START, END, "USD")
        whole = aggregate(charge.aggregation_type, events, "value", START, END)
        total = charge_from_properties(charge.charge_model, charge.properties).compute(
            whole.value,
            "USD",
            per_event_values=whole.per_event_values,
            events_count=whole.event_count,
        )
        assert sum(f.precise_amount_minor for f in fees) == total.exact_amount_minor
