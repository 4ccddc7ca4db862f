"""Usage projected to the period's end (Lago's projected_usage), amounts by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bxb.billing.aggregation import AggregationType, UsageEvent
from bxb.billing.filters import ChargeFilter
from bxb.billing.projection import period_ratio, project_usage, projected_units
from bxb.billing.usage import UsageCharge, compute_customer_usage

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")
TEN_OF_31 = Decimal(10) / Decimal(31)


def _charge(model: str, properties: dict[str, Any], **extra: Any) -> UsageCharge:
    aggregation = AggregationType.SUM if model == "percentage" else AggregationType.COUNT
    return UsageCharge(
        charge_id=f"ch_{model}",
        billable_metric_id=f"bm_{model}",
        billable_metric_code=model,
        billable_metric_name=model,
        aggregation_type=aggregation,
        field_name="amount" if model == "percentage" else None,
        charge_model=model,
        properties=properties,
        **extra,
    )


def _events(count: int, **properties: Any) -> list[UsageEvent]:
    at = datetime(2026, 1, 5, tzinfo=UTC)
    return [UsageEvent(at, properties, f"tx{i}{properties}") for i in range(count)]


def test_the_ratio_counts_started_days_in_the_customers_timezone() -> None:
    # Jan 10 12:00: ten days started of 31.
    assert period_ratio(JAN, FEB, datetime(2026, 1, 10, 12, tzinfo=UTC), UTC_ZONE) == TEN_OF_31
    # At midnight the day that opens counts (Lago adds a second): Jan 11 00:00 is 11/31.
    at_midnight = datetime(2026, 1, 11, tzinfo=UTC)
    assert period_ratio(JAN, FEB, at_midnight, UTC_ZONE) == Decimal(11) / Decimal(31)
    assert period_ratio(JAN, FEB, FEB, UTC_ZONE) == 1
    assert period_ratio(JAN, FEB, datetime(2025, 12, 31, tzinfo=UTC), UTC_ZONE) == 0
    # In New York the period starts Jan 1 05:00 UTC; Jan 10 03:00 UTC is still Jan 9 there.
    ny = ZoneInfo("America/New_York")
    start = datetime(2026, 1, 1, 5, tzinfo=UTC)
    end = datetime(2026, 2, 1, 5, tzinfo=UTC)
    assert period_ratio(start, end, datetime(2026, 1, 10, 3, tzinfo=UTC), ny) == Decimal(9) / 31


def test_units_are_projected_to_two_decimals_half_up() -> None:
    assert projected_units(Decimal(20), TEN_OF_31) == Decimal("62.00")
    assert projected_units(Decimal(7), TEN_OF_31) == Decimal("21.70")
    assert projected_units(Decimal(1), Decimal(3) / Decimal(31)) == Decimal("10.33")
    assert projected_units(Decimal(0), TEN_OF_31) == 0


def test_each_charge_model_prices_the_projection_as_lago() -> None:
    charges = [
        _charge("standard", {"amount": "0.5"}),
        _charge(
            "graduated",
            {
                "graduated_ranges": [
                    {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
                    {
                        "from_value": 11,
                        "to_value": None,
                        "per_unit_amount": "0.5",
                        "flat_amount": "2",
                    },
                ]
            },
        ),
        _charge(
            "volume",
            {
                "volume_ranges": [
                    {"from_value": 0, "to_value": 50, "per_unit_amount": "1", "flat_amount": "0"},
                    {
                        "from_value": 51,
                        "to_value": None,
                        "per_unit_amount": "0.5",
                        "flat_amount": "3",
                    },
                ]
            },
        ),
        _charge("package", {"amount": "5", "package_size": 10, "free_units": 5}),
        _charge("percentage", {"rate": "2"}),
    ]
    events = {
        "standard": _events(20),
        "graduated": _events(20),
        "volume": _events(20),
        "package": _events(20),
        "percentage": _events(1, amount="1000"),
    }
    usage = compute_customer_usage(charges, events, JAN, FEB, "USD")
    projected = project_usage(usage, TEN_OF_31)
    by_code = {c.usage.charge.charge_model: c for c in projected.charges}
    # 20 units now, 62 by the end of the period.
    assert by_code["standard"].usage.amount_cents == 1000
    assert by_code["standard"].projected_amount_cents == 3100  # 62 x $0.50
    assert by_code["graduated"].usage.amount_cents == 1000 + 500 + 200
    assert by_code["graduated"].projected_amount_cents == 1000 + 52 * 50 + 200  # 3800
    assert by_code["volume"].usage.amount_cents == 2000  # 20 x $1 in the first tier
    assert by_code["volume"].projected_amount_cents == 62 * 50 + 300  # second tier: 3400
    assert by_code["package"].usage.amount_cents == 1000  # 15 paid units: 2 packages
    assert by_code["package"].projected_amount_cents == 3000  # 57 paid units: 6 packages
    # Percentage: 2 % of $1000 = $20 now; the amount itself is scaled: $20 x 31/10 = $62.
    assert by_code["percentage"].usage.amount_cents == 2000
    assert by_code["percentage"].projected_amount_cents == 6200
    assert by_code["percentage"].projected_units == Decimal("3100.00")
    assert projected.projected_amount_cents == 3100 + 3800 + 3400 + 3000 + 6200

    body = projected.to_lago_dict()
    assert body["amount_cents"] == usage.amount_cents
    assert body["projected_amount_cents"] == 19500
    assert body["to_datetime"] == "2026-01-31T23:59:59Z"
    standard = body["charges_usage"][0]
    assert (standard["units"], standard["projected_units"]) == ("20", "62")
    assert standard["projected_amount_cents"] == 3100


def test_recurring_metrics_filters_and_the_period_edges() -> None:
    charge = _charge(
        "standard",
        {"amount": "1"},
        filters=(ChargeFilter({"region": ("eu",)}, {"amount": "2"}, "EU"),),
    )
    events = {"standard": _events(3, region="eu") + _events(2, region="us")}
    usage = compute_customer_usage([charge], events, JAN, FEB, "USD")
    projected = project_usage(usage, TEN_OF_31)
    # Each part projected with its own price: EU 3 → 9.3 units x $2; the rest 2 → 6.2 x $1.
    eu, rest = projected.charges[0].parts
    assert (eu.projected_units, eu.projected_amount_cents) == (Decimal("9.30"), 1860)
    assert (rest.projected_units, rest.projected_amount_cents) == (Decimal("6.20"), 620)
    filters = projected.to_lago_dict()["charges_usage"][0]["filters"]
    assert [f["values"] for f in filters] == [{"region": ["eu"]}, {}]
    # A recurring metric's usage already is the period's.
    recurring = project_usage(usage, TEN_OF_31, {"standard"})
    assert recurring.projected_amount_cents == usage.amount_cents == 800
    # Over: projected = current; not started: nothing.
    assert project_usage(usage, Decimal(1)).projected_amount_cents == 800
    assert project_usage(usage, Decimal(0)).projected_amount_cents == 0
