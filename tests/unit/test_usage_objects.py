"""Past usage objects (Lago's usage_periods) and their portal view, from fee rows."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from bxb.lago_objects.usage import past_usage_object
from bxb.models import BillableMetric, Charge, ChargeFilter, Fee, Invoice
from bxb.portal.shapes import portal_usage_object

ORG = uuid.uuid4()


def _fee(charge: Charge, amount: int, units: str, filter_id: uuid.UUID | None) -> Fee:
    return Fee(
        id=uuid.uuid4(),
        organization_id=ORG,
        charge_id=charge.id,
        charge_filter_id=filter_id,
        fee_type="charge",
        amount_cents=amount,
        taxes_amount_cents=amount // 5,
        units=Decimal(units),
        events_count=int(Decimal(units)),
    )


def test_a_filtered_charge_lists_each_filter_and_the_rest() -> None:
    metric = BillableMetric(
        id=uuid.uuid4(), code="calls", name="Calls", aggregation_type="count_agg"
    )
    eu = ChargeFilter(
        id=uuid.uuid4(), invoice_display_name="EU", values={"region": ["eu"]}, properties={}
    )
    charge = Charge(
        id=uuid.uuid4(),
        code="calls",
        charge_model="standard",
        invoice_display_name=None,
        billable_metric=metric,
        filters=[eu],
    )
    invoice = Invoice(id=uuid.uuid4(), issuing_date=date(2026, 2, 1), currency="USD")
    fees = [_fee(charge, 600, "3", eu.id), _fee(charge, 200, "2", None)]
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))

    period = past_usage_object(invoice, window, fees, {charge.id: charge})

    assert (period["from_datetime"], period["to_datetime"]) == (
        "2026-01-01T00:00:00Z",
        "2026-01-31T23:59:59Z",
    )
    assert (period["amount_cents"], period["taxes_amount_cents"]) == (800, 120 + 40)
    assert period["total_amount_cents"] == 960
    (usage,) = period["charges_usage"]
    assert (usage["units"], usage["events_count"], usage["amount_cents"]) == ("5", 5, 800)
    assert [(f["values"], f["units"], f["amount_cents"]) for f in usage["filters"]] == [
        ({"region": ["eu"]}, "3", 600),
        (None, "2", 200),
    ]

    shown = portal_usage_object(period)
    assert shown["invoice"] == {"lago_id": str(invoice.id)}
    assert shown["charges_usage"][0]["billable_metric"] == {"code": "calls", "name": "Calls"}
    assert "lago_id" not in shown["charges_usage"][0]["charge"]
    assert str(charge.id) not in str(shown)
    assert str(metric.id) not in str(shown)
