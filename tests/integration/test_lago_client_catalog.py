"""The unmodified lago-python-client manages billable metrics and plans on a live bxb."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.billable_metric import (
    BillableMetric,
    BillableMetricFilter,
    BillableMetricFilters,
)
from lago_python_client.models.charge import Charge, ChargeFilter, ChargeFilters, Charges
from lago_python_client.models.minimum_commitment import MinimumCommitment
from lago_python_client.models.plan import Plan
from lago_python_client.models.tax import Tax

from tests.support.auth import Tenant

RANGES = [
    {"from_value": 0, "to_value": 10, "per_unit_amount": "0.5", "flat_amount": "1"},
    {"from_value": 11, "to_value": None, "per_unit_amount": "0.4", "flat_amount": "0"},
]


def charges(calls_id: str, payments_id: str) -> list[Charge]:
    rate_ranges = [
        {"from_value": 0, "to_value": 10, "rate": "1", "flat_amount": "0"},
        {"from_value": 11, "to_value": None, "rate": "0.5", "flat_amount": "0"},
    ]
    europe = ChargeFilter(
        invoice_display_name="Europe", properties={"amount": "0.2"}, values={"region": ["eu"]}
    )
    return [
        Charge(
            billable_metric_id=calls_id,
            charge_model="standard",
            invoice_display_name="Calls",
            properties={"amount": "0.1"},
            filters=ChargeFilters(__root__=[europe]),
            tax_codes=["vat"],
        ),
        Charge(
            billable_metric_id=calls_id,
            charge_model="graduated",
            properties={"graduated_ranges": RANGES},
        ),
        Charge(
            billable_metric_id=calls_id, charge_model="volume", properties={"volume_ranges": RANGES}
        ),
        Charge(
            billable_metric_id=calls_id,
            charge_model="package",
            pay_in_advance=True,
            invoiceable=False,
            properties={"amount": "5", "package_size": 100, "free_units": 10},
        ),
        Charge(
            billable_metric_id=payments_id,
            charge_model="percentage",
            properties={"rate": "1.5", "fixed_amount": "0.1", "free_units_per_events": 2},
        ),
        Charge(
            billable_metric_id=payments_id,
            charge_model="graduated_percentage",
            properties={"graduated_percentage_ranges": rate_ranges},
        ),
    ]


async def call(function: Any, *args: Any) -> Any:
    # The server runs on this event loop; the sync client must not block it.
    return await asyncio.to_thread(function, *args)


async def test_lago_client_manages_billable_metrics_and_plans(
    live_api: str, tenant_a: Tenant
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    await call(lago.taxes.create, Tax(name="VAT", code="vat", rate=20.0))

    region = BillableMetricFilter(key="region", values=["eu", "us"])
    calls = await call(
        lago.billable_metrics.create,
        BillableMetric(
            name="Calls",
            code="calls",
            aggregation_type="count_agg",
            filters=BillableMetricFilters(__root__=[region]),
        ),
    )
    assert calls.code == "calls"
    assert calls.filters.__root__[0].values == ["eu", "us"]
    payments = await call(
        lago.billable_metrics.create,
        BillableMetric(
            name="Payments", code="payments", aggregation_type="sum_agg", field_name="amount"
        ),
    )
    assert (await call(lago.billable_metrics.find, "payments")).lago_id == payments.lago_id
    listed = await call(lago.billable_metrics.find_all)
    assert [m.code for m in listed["billable_metrics"]] == ["payments", "calls"]
    assert listed["meta"]["total_count"] == 2
    renamed = await call(
        lago.billable_metrics.update, BillableMetric(name="Payment volume"), "payments"
    )
    assert renamed.name == "Payment volume"

    plan_in = Plan(
        name="Startup",
        code="startup",
        interval="monthly",
        amount_cents=9900,
        amount_currency="EUR",
        trial_period=7.0,
        pay_in_advance=True,
        tax_codes=["vat"],
        minimum_commitment=MinimumCommitment(amount_cents=20000, invoice_display_name="Min"),
        charges=Charges(__root__=charges(calls.lago_id, payments.lago_id)),
    )
    plan = await call(lago.plans.create, plan_in)
    assert plan.code == "startup"
    assert plan.trial_period == 7.0
    assert plan.minimum_commitment.amount_cents == 20000
    assert [t.code for t in plan.taxes.__root__] == ["vat"]
    got = plan.charges.__root__
    assert [c.charge_model for c in got] == [
        "standard",
        "graduated",
        "volume",
        "package",
        "percentage",
        "graduated_percentage",
    ]
    assert got[0].billable_metric_code == "calls"
    assert got[0].filters.__root__[0].values == {"region": ["eu"]}
    assert got[0].taxes.__root__[0].rate == 20.0
    assert got[4].properties == {"rate": "1.5", "fixed_amount": "0.1", "free_units_per_events": 2}

    found = await call(lago.plans.find, "startup")
    assert found == plan
    assert [p.code for p in (await call(lago.plans.find_all))["plans"]] == ["startup"]

    kept = Charge(id=got[0].lago_id, properties={"amount": "0.15"})
    updated = await call(
        lago.plans.update,
        Plan(name="Startup v2", charges=Charges(__root__=[kept])),
        "startup",
    )
    assert updated.name == "Startup v2"
    assert [c.lago_id for c in updated.charges.__root__] == [got[0].lago_id]
    assert updated.charges.__root__[0].properties == {"amount": "0.15"}

    deleted = await call(lago.plans.destroy, "startup")
    assert deleted.code == "startup"
    with pytest.raises(LagoApiError) as missing:
        await call(lago.plans.find, "startup")
    assert missing.value.status_code == 404
    assert (await call(lago.billable_metrics.destroy, "calls")).code == "calls"
    with pytest.raises(LagoApiError) as gone:
        await call(lago.billable_metrics.find, "calls")
    assert gone.value.status_code == 404


async def test_lago_client_sees_422_details(live_api: str, tenant_a: Tenant) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    with pytest.raises(LagoApiError) as failure:
        await call(
            lago.billable_metrics.create,
            BillableMetric(name="Sum", code="sum", aggregation_type="sum_agg"),
        )
    assert failure.value.status_code == 422
    assert failure.value.response["error_details"] == {"field_name": ["value_is_mandatory"]}
