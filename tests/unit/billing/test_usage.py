"""Current usage of a period, worked out by hand (EUR: 100 cents to the euro)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bxb.billing.aggregation import AggregationType, UsageEvent
from bxb.billing.filters import ChargeFilter
from bxb.billing.money import UnknownCurrencyError
from bxb.billing.taxes import Tax
from bxb.billing.usage import UsageCharge, compute_customer_usage

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 2, 1, tzinfo=UTC)
VAT = Tax("vat", Decimal("20"))
REDUCED = Tax("reduced", Decimal("10"))


def event(day: int, n: int, **properties: Any) -> UsageEvent:
    return UsageEvent(datetime(2026, 1, day, 12, tzinfo=UTC), properties, f"tx-{day}-{n}")


def charge(
    code: str,
    aggregation: AggregationType,
    model: str,
    properties: dict[str, Any],
    **extra: Any,
) -> UsageCharge:
    return UsageCharge(
        charge_id=f"charge-{code}",
        billable_metric_id=f"metric-{code}",
        billable_metric_code=code,
        billable_metric_name=code.title(),
        aggregation_type=aggregation,
        field_name=extra.pop("field_name", None),
        charge_model=model,
        properties=properties,
        **extra,
    )


CALLS = charge("calls", AggregationType.COUNT, "standard", {"amount": "0.05"})
STORAGE = charge(
    "storage",
    AggregationType.SUM,
    "graduated",
    {
        "graduated_ranges": [
            {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "2"},
            {"from_value": 11, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "0"},
        ]
    },
    field_name="gb",
)
REQUESTS = charge(
    "requests",
    AggregationType.COUNT,
    "standard",
    {"amount": "0.5"},
    filters=(
        ChargeFilter({"region": ("eu",)}, {"amount": "2"}, "Europe"),
        ChargeFilter({"region": ("us",)}, {"amount": "1"}),
    ),
    invoice_display_name="Requests",
    taxes=(REDUCED,),
)

EVENTS = {
    "calls": [
        event(2, 1),
        event(3, 1),
        event(31, 1),
        # Outside [START, END): the instant before, and the end itself.
        UsageEvent(datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC), {}, "tx-before"),
        UsageEvent(END, {}, "tx-end"),
    ],
    "storage": [event(5, 1, gb=4), event(6, 1, gb="8.5")],
    "requests": [
        event(7, 1, region="eu"),
        event(7, 2, region="eu"),
        event(8, 1, region="us"),
        event(9, 1),
        event(9, 2),
        event(9, 3, region="apac"),
    ],
    "unused": [event(10, 1)],
}


def test_a_month_of_usage_priced_and_taxed() -> None:
    usage = compute_customer_usage(
        [CALLS, STORAGE, REQUESTS], EVENTS, START, END, "EUR", taxes=[VAT]
    )
    calls, storage, requests = usage.charges_usage
    # 3 calls × 0.05 € = 15 cents; VAT 20 % = 3.
    assert (calls.units, calls.events_count, calls.amount_cents) == (Decimal(3), 3, 15)
    assert calls.taxes_amount_cents == 3
    # 12.5 GB: 10 × 1 € + 2 € flat = 12 €, then 2.5 × 0.5 € = 1.25 € → 1325; VAT 265.
    assert (storage.units, storage.events_count, storage.amount_cents) == (Decimal("12.5"), 2, 1325)
    assert storage.taxes_amount_cents == 265
    # Europe 2 × 2 € = 400, US 1 × 1 € = 100, the 3 others × 0.5 € = 150; the charge's
    # own 10 % tax replaces VAT: 40 + 10 + 15.
    assert [(f.units, f.events_count, f.amount_cents) for f in requests.filters] == [
        (Decimal(2), 2, 400),
        (Decimal(1), 1, 100),
        (Decimal(3), 3, 150),
    ]
    assert [f.taxes_amount_cents for f in requests.filters] == [40, 10, 15]
    assert (requests.units, requests.events_count, requests.amount_cents) == (Decimal(6), 6, 650)
    assert requests.taxes_amount_cents == 65
    assert usage.amount_cents == 15 + 1325 + 650 == 1990
    assert usage.taxes_amount_cents == 3 + 265 + 65 == 333
    assert usage.total_amount_cents == 2323
    assert usage.issuing_date == date(2026, 2, 1)


def test_lago_dict() -> None:
    usage = compute_customer_usage([REQUESTS], EVENTS, START, END, "EUR", taxes=[VAT])
    assert usage.to_lago_dict() == {
        "from_datetime": "2026-01-01T00:00:00Z",
        "to_datetime": "2026-01-31T23:59:59Z",
        "issuing_date": "2026-02-01",
        "lago_invoice_id": None,
        "currency": "EUR",
        "amount_cents": 650,
        "taxes_amount_cents": 65,
        "total_amount_cents": 715,
        "charges_usage": [
            {
                "units": "6",
                "total_aggregated_units": "6",
                "events_count": 6,
                "amount_cents": 650,
                "amount_currency": "EUR",
                "charge": {
                    "lago_id": "charge-requests",
                    "charge_model": "standard",
                    "invoice_display_name": "Requests",
                },
                "billable_metric": {
                    "lago_id": "metric-requests",
                    "name": "Requests",
                    "code": "requests",
                    "aggregation_type": "count_agg",
                },
                "filters": [
                    {
                        "invoice_display_name": "Europe",
                        "values": {"region": ["eu"]},
                        "units": "2",
                        "total_aggregated_units": "2",
                        "events_count": 2,
                        "amount_cents": 400,
                    },
                    {
                        "invoice_display_name": None,
                        "values": {"region": ["us"]},
                        "units": "1",
                        "total_aggregated_units": "1",
                        "events_count": 1,
                        "amount_cents": 100,
                    },
                    {
                        "invoice_display_name": None,
                        "values": None,
                        "units": "3",
                        "total_aggregated_units": "3",
                        "events_count": 3,
                        "amount_cents": 150,
                    },
                ],
                "grouped_usage": [],
            }
        ],
    }


def test_the_most_specific_filter_prices_an_event() -> None:
    tiered = charge(
        "requests",
        AggregationType.COUNT,
        "standard",
        {"amount": "0"},
        filters=(
            ChargeFilter({"region": ("eu",)}, {"amount": "1"}),
            ChargeFilter({"region": ("eu",), "tier": ("gold",)}, {"amount": "3"}),
        ),
    )
    events = {"requests": [event(2, 1, region="eu", tier="gold"), event(2, 2, region="eu")]}
    usage = compute_customer_usage([tiered], events, START, END, "EUR")
    # The gold event costs 3 €, not 1 €; the other 1 €.
    assert [f.amount_cents for f in usage.charges_usage[0].filters] == [100, 300, 0]
    assert usage.amount_cents == 400
    assert usage.taxes_amount_cents == 0  # no taxes given


def test_each_filter_is_a_fee_rounded_on_its_own_taxed_with_the_usage() -> None:
    halves = charge(
        "calls",
        AggregationType.COUNT,
        "standard",
        {"amount": "0.005"},
        filters=(ChargeFilter({"region": ("eu",)}, {"amount": "0.005"}),),
    )
    events = {
        "calls": [event(2, n, region="eu") for n in range(3)] + [event(3, n) for n in range(3)]
    }
    usage = compute_customer_usage([halves], events, START, END, "EUR", taxes=[REDUCED])
    # Each part: 3 × 0.5 cent = 1.5 → 2 cents; tax 10 % of 2 = 0.2 → 0.
    assert [f.amount_cents for f in usage.charges_usage[0].filters] == [2, 2]
    assert usage.amount_cents == 4
    assert usage.taxes_amount_cents == 0
    fifteen = charge(
        "calls",
        AggregationType.COUNT,
        "standard",
        {"amount": "0.05"},
        filters=(ChargeFilter({"region": ("eu",)}, {"amount": "0.05"}),),
    )
    usage = compute_customer_usage([fifteen], events, START, END, "EUR", taxes=[REDUCED])
    # 15 cents each; 10 % = 1.5 per fee, but each tax is rounded once over the usage, as
    # Lago does: 3.0 → 3, not 2 + 2 (issue 10).
    assert usage.amount_cents == 30
    assert usage.taxes_amount_cents == 3


def test_percentage_uses_each_transaction() -> None:
    payments = charge(
        "payments",
        AggregationType.SUM,
        "percentage",
        {"rate": "2", "fixed_amount": "0.1", "free_units_per_events": 1},
        field_name="amount",
    )
    events = {"payments": [event(2, 1, amount=100), event(3, 1, amount=50), event(4, 1, amount=10)]}
    usage = compute_customer_usage([payments], events, START, END, "EUR")
    # The first payment is free; 2 % of 60 € = 1.20 €, plus 2 × 0.10 € fixed = 1.40 €.
    assert usage.charges_usage[0].amount_cents == 140
    assert usage.charges_usage[0].units == Decimal(160)


def test_no_usage_costs_nothing_and_lists_every_filter() -> None:
    usage = compute_customer_usage(
        [CALLS, REQUESTS], {}, START, END, "JPY", issuing_date=date(2026, 2, 3)
    )
    assert usage.amount_cents == usage.taxes_amount_cents == usage.total_amount_cents == 0
    assert [len(u.filters) for u in usage.charges_usage] == [0, 3]
    assert usage.to_lago_dict()["issuing_date"] == "2026-02-03"
    assert usage.to_lago_dict()["charges_usage"][0]["units"] == "0"


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrencyError):
        compute_customer_usage([], {}, START, END, "XXQ")
