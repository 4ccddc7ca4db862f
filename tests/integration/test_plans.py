"""/api/v1/plans: Lago's PlanObject with charges, filters, taxes and commitment."""

from __future__ import annotations

import copy
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import AppliedTax, Charge, ChargeFilter
from tests.support.auth import Tenant

URL = "/api/v1/plans"

GRADUATED = [
    {"from_value": 0, "to_value": 10, "per_unit_amount": "0.1", "flat_amount": "1"},
    {"from_value": 11, "to_value": None, "per_unit_amount": "0.05", "flat_amount": "0"},
]
VOLUME = [
    {"from_value": 0, "to_value": 100, "per_unit_amount": "0.2", "flat_amount": "0"},
    {"from_value": 101, "to_value": None, "per_unit_amount": "0.1", "flat_amount": "5"},
]
GRADUATED_PERCENTAGE = [
    {"from_value": 0, "to_value": 100, "rate": "1", "flat_amount": "0"},
    {"from_value": 101, "to_value": None, "rate": "0.5", "flat_amount": "2"},
]
PERCENTAGE = {
    "rate": "2.5",
    "fixed_amount": "0.3",
    "free_units_per_events": 3,
    "free_units_per_total_aggregation": "100",
    "per_transaction_min_amount": "0.5",
    "per_transaction_max_amount": "5",
}


async def make_metric(
    client: httpx.AsyncClient, tenant: Tenant, code: str, aggregation_type: str, **extra: Any
) -> dict[str, Any]:
    body = {"name": code.title(), "code": code, "aggregation_type": aggregation_type} | extra
    response = await client.post(
        "/api/v1/billable_metrics", json={"billable_metric": body}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    metric: dict[str, Any] = response.json()["billable_metric"]
    return metric


async def make_tax(
    client: httpx.AsyncClient, tenant: Tenant, code: str, rate: str
) -> dict[str, Any]:
    body = {"name": code.upper(), "code": code, "rate": rate}
    response = await client.post("/api/v1/taxes", json={"tax": body}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    tax: dict[str, Any] = response.json()["tax"]
    return tax


async def catalog(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    return {
        "calls": await make_metric(
            client,
            tenant,
            "calls",
            "count_agg",
            filters=[{"key": "region", "values": ["eu", "us"]}],
        ),
        "payments": await make_metric(client, tenant, "payments", "sum_agg", field_name="amount"),
        "seats": await make_metric(
            client, tenant, "seats", "sum_agg", field_name="seats", recurring=True
        ),
        "vat": await make_tax(client, tenant, "vat", "20"),
        "reduced": await make_tax(client, tenant, "reduced", "5.5"),
    }


def every_model_charges(items: dict[str, Any]) -> list[dict[str, Any]]:
    calls, payments = items["calls"]["lago_id"], items["payments"]["lago_id"]
    return [
        {
            "billable_metric_id": calls,
            "code": "calls_standard",
            "charge_model": "standard",
            "invoice_display_name": "API calls",
            "min_amount_cents": 100,
            "properties": {"amount": "0.05"},
            "filters": [
                {
                    "invoice_display_name": "Europe",
                    "properties": {"amount": "0.04"},
                    "values": {"region": ["eu"]},
                }
            ],
            "tax_codes": ["reduced"],
        },
        {
            "billable_metric_id": calls,
            "charge_model": "graduated",
            "properties": {"graduated_ranges": GRADUATED},
        },
        {
            "billable_metric_id": calls,
            "charge_model": "volume",
            "properties": {"volume_ranges": VOLUME},
        },
        {
            "billable_metric_id": calls,
            "charge_model": "package",
            "pay_in_advance": True,
            "invoiceable": False,
            "regroup_paid_fees": "invoice",
            "properties": {"amount": "5", "package_size": 100, "free_units": 10},
        },
        {"billable_metric_id": payments, "charge_model": "percentage", "properties": PERCENTAGE},
        {
            "billable_metric_id": payments,
            "charge_model": "graduated_percentage",
            "properties": {"graduated_percentage_ranges": GRADUATED_PERCENTAGE},
        },
        {
            "billable_metric_id": items["seats"]["lago_id"],
            "charge_model": "standard",
            "prorated": True,
            "properties": {"amount": "10"},
        },
    ]


def startup_plan(items: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "name": "Startup",
        "invoice_display_name": "Startup plan",
        "code": "startup",
        "interval": "yearly",
        "description": "For small teams",
        "amount_cents": 120000,
        "amount_currency": "EUR",
        "trial_period": 14.5,
        "pay_in_advance": True,
        "bill_charges_monthly": True,
        "tax_codes": ["vat"],
        "minimum_commitment": {
            "amount_cents": 500000,
            "invoice_display_name": "Commitment",
            "tax_codes": ["vat"],
        },
        "charges": every_model_charges(items),
    }
    return plan | overrides


def simple_plan(code: str = "basic", **overrides: Any) -> dict[str, Any]:
    plan = {
        "name": code.title(),
        "code": code,
        "interval": "monthly",
        "amount_cents": 1000,
        "amount_currency": "EUR",
    }
    return plan | overrides


async def post_plan(
    client: httpx.AsyncClient, tenant: Tenant, plan: dict[str, Any]
) -> httpx.Response:
    return await client.post(URL, json={"plan": plan}, headers=tenant.headers)


def expected_charge(
    sent: dict[str, Any], got: dict[str, Any], metric: dict[str, Any], taxes: list[Any]
) -> dict[str, Any]:
    return {
        "lago_id": got["lago_id"],
        "lago_billable_metric_id": metric["lago_id"],
        "billable_metric_code": metric["code"],
        "code": sent.get("code"),
        "invoice_display_name": sent.get("invoice_display_name"),
        "created_at": got["created_at"],
        "charge_model": sent["charge_model"],
        "pay_in_advance": sent.get("pay_in_advance", False),
        "invoiceable": sent.get("invoiceable", True),
        "regroup_paid_fees": sent.get("regroup_paid_fees"),
        "prorated": sent.get("prorated", False),
        "min_amount_cents": sent.get("min_amount_cents", 0),
        "properties": sent["properties"],
        "filters": [f | {} for f in sent.get("filters", [])],
        "taxes": taxes,
        "applied_pricing_unit": None,
        "accepts_target_wallet": False,
        "lago_parent_id": None,
    }


async def test_create_returns_the_full_plan_with_every_charge_model(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    items = await catalog(client, tenant_a)
    sent = startup_plan(items)
    response = await post_plan(client, tenant_a, sent)
    assert response.status_code == 200, response.text
    plan = response.json()["plan"]
    metric_of = {"standard": "calls", "graduated": "calls", "volume": "calls", "package": "calls"}
    metrics = [items[metric_of.get(c["charge_model"], "payments")] for c in sent["charges"][:6]] + [
        items["seats"]
    ]
    charges = [
        expected_charge(c, got, metric, [items["reduced"]] if index == 0 else [])
        for index, (c, got, metric) in enumerate(
            zip(sent["charges"], plan["charges"], metrics, strict=True)
        )
    ]
    assert plan == {
        "lago_id": plan["lago_id"],
        "name": "Startup",
        "invoice_display_name": "Startup plan",
        "created_at": plan["created_at"],
        "code": "startup",
        "interval": "yearly",
        "description": "For small teams",
        "amount_cents": 120000,
        "amount_currency": "EUR",
        "trial_period": 14.5,
        "pay_in_advance": True,
        "bill_charges_monthly": True,
        "bill_fixed_charges_monthly": None,
        "minimum_commitment": {
            "lago_id": plan["minimum_commitment"]["lago_id"],
            "plan_code": "startup",
            "amount_cents": 500000,
            "invoice_display_name": "Commitment",
            "interval": "yearly",
            "created_at": plan["created_at"],
            "updated_at": plan["minimum_commitment"]["updated_at"],
            "taxes": [items["vat"]],
        },
        "charges": charges,
        "fixed_charges": [],
        "taxes": [items["vat"]],
        "usage_thresholds": [],
        "metadata": None,
        "entitlements": [],
    }
    # The first charge, spelled out: what a Lago client reads back.
    assert plan["charges"][0]["filters"] == [
        {
            "invoice_display_name": "Europe",
            "properties": {"amount": "0.04"},
            "values": {"region": ["eu"]},
        }
    ]
    assert plan["charges"][0]["taxes"][0]["code"] == "reduced"
    assert plan["charges"][0]["taxes"][0]["rate"] == 5.5
    fetched = await client.get(f"{URL}/startup", headers=tenant_a.headers)
    assert fetched.json() == {"plan": plan}


async def test_defaults_and_normalizations(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    calls = await make_metric(client, tenant_a, "calls", "count_agg")
    charge = {
        "billable_metric_id": calls["lago_id"],
        "charge_model": "package",
        # Keys of other models are dropped, as Lago does.
        "properties": {"amount": "1", "package_size": 10, "rate": "3"},
    }
    tiers = [
        {
            "from_value": 0,
            "to_value": None,
            "per_unit_amount": "1",
            "flat_amount": "0",
            "x": {"a": 1},
        }
    ]
    volume = {
        "billable_metric_id": calls["lago_id"],
        "charge_model": "volume",
        "properties": {"volume_ranges": tiers},
    }
    no_properties = {"billable_metric_id": calls["lago_id"], "charge_model": "graduated"}
    response = await post_plan(
        client,
        tenant_a,
        simple_plan(bill_charges_monthly=True, charges=[charge, no_properties, volume]),
    )
    assert response.status_code == 200, response.text
    plan = response.json()["plan"]
    assert plan["bill_charges_monthly"] is None  # only yearly and semiannual plans use it
    assert plan["pay_in_advance"] is False
    assert plan["trial_period"] is None
    assert plan["minimum_commitment"] is None
    assert plan["taxes"] == []
    assert plan["charges"][0]["properties"] == {"amount": "1", "package_size": 10}
    assert plan["charges"][1]["properties"] == {
        "graduated_ranges": [
            {"from_value": 0, "to_value": None, "per_unit_amount": "0", "flat_amount": "0"}
        ]
    }
    # Tiers keep only their own keys.
    assert plan["charges"][2]["properties"]["volume_ranges"][0] == {
        "from_value": 0,
        "to_value": None,
        "per_unit_amount": "1",
        "flat_amount": "0",
    }
    yearly = await post_plan(client, tenant_a, simple_plan("yearly", interval="yearly"))
    assert yearly.json()["plan"]["bill_charges_monthly"] is False


def _error_body(details: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": details,
    }


async def test_plan_validation_errors(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        ({"interval": "daily"}, {"interval": ["value_is_invalid"]}),
        ({"amount_cents": -1}, {"amount_cents": ["value_is_invalid"]}),
        ({"amount_cents": "ten"}, {"amount_cents": ["invalid_type"]}),
        ({"amount_currency": "XYZ"}, {"amount_currency": ["value_is_invalid"]}),
        ({"trial_period": -1}, {"trial_period": ["value_is_invalid"]}),
        ({"name": None}, {"name": ["value_is_mandatory"]}),
        ({"code": ""}, {"code": ["value_is_mandatory"]}),
        ({"charges": {"a": 1}}, {"charges": ["invalid_type"]}),
        (
            {"fixed_charges": [{"add_on_code": "x", "charge_model": "flat"}]},
            {"fixed_charges.0.charge_model": ["value_is_invalid"]},
        ),
        ({"usage_thresholds": [{"amount_cents": 0}]}, {"amount_cents": ["value_is_out_of_range"]}),
        (
            {"minimum_commitment": {"invoice_display_name": "x"}},
            {"minimum_commitment.amount_cents": ["value_is_mandatory"]},
        ),
    ]
    for overrides, details in cases:
        response = await post_plan(client, tenant_a, simple_plan() | overrides)
        assert response.status_code == 422, overrides
        assert response.json() == _error_body(details), overrides
    missing = await post_plan(client, tenant_a, {})
    assert missing.json()["error_details"] == {
        field: ["value_is_mandatory"]
        for field in ("name", "code", "interval", "amount_cents", "amount_currency")
    }
    assert (await client.get(URL, headers=tenant_a.headers)).json()["plans"] == []


async def test_charge_validation_errors(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    calls = (
        await make_metric(
            client, tenant_a, "calls", "count_agg", filters=[{"key": "region", "values": ["eu"]}]
        )
    )["lago_id"]
    peak = (await make_metric(client, tenant_a, "peak", "max_agg", field_name="n"))["lago_id"]
    std = {"billable_metric_id": calls, "charge_model": "standard", "properties": {"amount": "1"}}
    gap = [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 12, "to_value": None, "per_unit_amount": "1", "flat_amount": "0"},
    ]
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        (
            {"charge_model": "graduated", "properties": {"graduated_ranges": gap}},
            {"charges.0.properties.graduated_ranges": ["invalid_graduated_ranges"]},
        ),
        ({"properties": {"amount": "-1"}}, {"charges.0.properties.amount": ["invalid_amount"]}),
        ({"charge_model": "dynamic"}, {"charges.0.charge_model": ["value_is_invalid"]}),
        ({"charge_model": None}, {"charges.0.charge_model": ["value_is_mandatory"]}),
        ({"billable_metric_id": None}, {"charges.0.billable_metric_id": ["value_is_mandatory"]}),
        (
            {"filters": [{"properties": {"amount": "2"}, "values": {"region": ["us"]}}]},
            {"charges.0.filters.0.values.region": ["invalid_filter_value"]},
        ),
        (
            {"filters": [{"properties": {"amount": "2"}, "values": {"cloud": ["aws"]}}]},
            {"charges.0.filters.0.values.cloud": ["invalid_filter_key"]},
        ),
        (
            {"filters": [{"properties": {}, "values": {"region": ["eu"]}}]},
            {"charges.0.filters.0.properties.amount": ["invalid_amount"]},
        ),
        (
            {
                "filters": [
                    {"properties": {"amount": "2"}, "values": {"region": ["eu"]}},
                    {"properties": {"amount": "3"}, "values": {"region": ["eu"]}},
                ]
            },
            {"charges.0.filters.1.values": ["value_already_exist"]},
        ),
        (
            {"charge_model": "percentage", "properties": {"rate": "1"}},
            {"charges.0.charge_model": ["invalid_aggregation_type_or_charge_model"]},
        ),
        (
            {
                "charge_model": "volume",
                "pay_in_advance": True,
                "properties": {"volume_ranges": VOLUME},
            },
            {"charges.0.pay_in_advance": ["invalid_aggregation_type_or_charge_model"]},
        ),
        (
            {"billable_metric_id": peak, "pay_in_advance": True},
            {"charges.0.pay_in_advance": ["invalid_aggregation_type_or_charge_model"]},
        ),
        (
            {"pay_in_advance": True, "min_amount_cents": 5},
            {"charges.0.min_amount_cents": ["not_compatible_with_pay_in_advance"]},
        ),
        (
            {"invoiceable": False},
            {"charges.0.invoiceable": ["must_be_true_unless_pay_in_advance"]},
        ),
        (
            {"regroup_paid_fees": "invoice", "pay_in_advance": True},
            {
                "charges.0.regroup_paid_fees": [
                    "only_compatible_with_pay_in_advance_and_non_invoiceable"
                ]
            },
        ),
        (
            {"prorated": True},
            {"charges.0.prorated": ["invalid_billable_metric_or_charge_model"]},
        ),
        ({"min_amount_cents": -5}, {"charges.0.min_amount_cents": ["value_is_invalid"]}),
        (
            {"applied_pricing_unit": {"code": "credits", "conversion_rate": "0.5"}},
            {"charges.0.applied_pricing_unit": ["not_supported"]},
        ),
        (
            {"properties": {"amount": "1", "grouped_by": ["a\x00"]}},
            {"charges.0.properties.grouped_by.0": ["invalid_characters"]},
        ),
        (
            {
                "charge_model": "graduated",
                "properties": {"graduated_ranges": [{"from_value": 0, "flat_amount": "\x00"}]},
            },
            {"charges.0.properties.graduated_ranges.0.flat_amount": ["invalid_characters"]},
        ),
        (
            {"properties": {"amount": "1", "pricing_group_keys": "region"}},
            {"charges.0.properties.pricing_group_keys": ["value_is_invalid"]},
        ),
    ]
    for overrides, details in cases:
        response = await post_plan(client, tenant_a, simple_plan(charges=[std | overrides]))
        assert response.status_code == 422, overrides
        assert response.json() == _error_body(details), overrides
    no_model = await post_plan(
        client, tenant_a, simple_plan(charges=[{"billable_metric_id": calls}])
    )
    assert no_model.json() == _error_body({"charges.0.charge_model": ["value_is_mandatory"]})
    # Every problem of every charge in one answer.
    several = await post_plan(
        client,
        tenant_a,
        simple_plan(
            charges=[std | {"code": "c"}, std | {"code": "c", "properties": {"amount": "x"}}]
        ),
    )
    assert several.json()["error_details"] == {
        "charges.1.properties.amount": ["invalid_amount"],
        "charges.1.code": ["value_already_exist"],
    }


async def test_proration_follows_lagos_rules(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    seats = await make_metric(
        client, tenant_a, "seats", "unique_count_agg", field_name="user", recurring=True
    )
    allowed = [("standard", True), ("standard", False), ("volume", False), ("graduated", False)]
    refused = [("graduated", True), ("package", False), ("percentage", False)]
    for index, (model, advance) in enumerate(allowed + refused):
        charge = {
            "billable_metric_id": seats["lago_id"],
            "charge_model": model,
            "pay_in_advance": advance,
            "prorated": True,
        }
        response = await post_plan(client, tenant_a, simple_plan(f"p{index}", charges=[charge]))
        if (model, advance) in allowed:
            assert response.status_code == 200, (model, advance)
            assert response.json()["plan"]["charges"][0]["prorated"] is True
        else:
            assert "charges.0.prorated" in response.json()["error_details"], (model, advance)


async def test_unknown_metric_tax_and_taken_code(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    for metric_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        charge = {"billable_metric_id": metric_id, "charge_model": "standard"}
        response = await post_plan(client, tenant_a, simple_plan(charges=[charge]))
        assert response.status_code == 404
        assert response.json() == {
            "status": 404,
            "error": "Not Found",
            "code": "billable_metric_not_found",
        }
    for body in (
        {"tax_codes": ["nope"]},
        {"minimum_commitment": {"amount_cents": 1, "tax_codes": ["nope"]}},
    ):
        unknown_tax = await post_plan(client, tenant_a, simple_plan(**body))
        assert unknown_tax.status_code == 404
        assert unknown_tax.json()["code"] == "tax_not_found"
    assert (await post_plan(client, tenant_a, simple_plan())).status_code == 200
    taken = await post_plan(client, tenant_a, simple_plan())
    assert taken.status_code == 422
    assert taken.json() == _error_body({"code": ["value_already_exist"]})


async def test_update_replaces_the_charge_list(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    items = await catalog(client, tenant_a)
    created = (await post_plan(client, tenant_a, startup_plan(items))).json()["plan"]
    first, second = created["charges"][0], created["charges"][1]
    new_charge = {
        "billable_metric_id": items["payments"]["lago_id"],
        "charge_model": "percentage",
        "properties": {"rate": "3"},
    }
    response = await client.put(
        f"{URL}/startup",
        json={
            "plan": {
                "name": "Startup 2",
                "amount_cents": 0,
                "interval": "monthly",
                "tax_codes": [],
                "minimum_commitment": None,
                "charges": [
                    {"id": first["lago_id"], "properties": {"amount": "0.07"}},
                    {"id": second["lago_id"], "charge_model": "standard"},
                    new_charge,
                ],
            }
        },
        headers=tenant_a.headers,
    )
    assert response.status_code == 200, response.text
    plan = response.json()["plan"]
    assert plan["name"] == "Startup 2"
    assert plan["amount_cents"] == 0
    assert plan["bill_charges_monthly"] is None  # monthly now
    assert plan["taxes"] == []
    assert plan["minimum_commitment"] is None
    assert [c["lago_id"] for c in plan["charges"][:2]] == [first["lago_id"], second["lago_id"]]
    # Untouched fields, filters and taxes of an updated charge stay.
    assert plan["charges"][0] == first | {"properties": {"amount": "0.07"}}
    # A new model without properties gets that model's defaults.
    assert plan["charges"][1]["charge_model"] == "standard"
    assert plan["charges"][1]["properties"] == {"amount": "0"}
    assert plan["charges"][2]["charge_model"] == "percentage"
    assert plan["charges"][2]["lago_billable_metric_id"] == items["payments"]["lago_id"]
    assert len(plan["charges"]) == 3
    async with sessions() as session:
        charges = (await session.scalars(select(Charge))).all()
        assert len(charges) == 8
        assert sum(1 for c in charges if c.deleted_at is not None) == 5
        # The first charge's filter was unchanged, so its row was kept.
        assert len((await session.scalars(select(ChargeFilter))).all()) == 1
    assert (await client.get(f"{URL}/startup", headers=tenant_a.headers)).json() == {"plan": plan}


async def test_update_of_filters_taxes_and_commitment(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    items = await catalog(client, tenant_a)
    created = (await post_plan(client, tenant_a, startup_plan(items))).json()["plan"]
    charge = created["charges"][0]
    filters = [
        {"properties": {"amount": "0.01"}, "values": {"region": ["us"]}},
        {
            "invoice_display_name": "All",
            "properties": {"amount": "0.02"},
            "values": {"region": ["__ALL_FILTER_VALUES__"]},
        },
    ]
    response = await client.put(
        f"{URL}/startup",
        json={
            "plan": {
                "charges": [{"id": charge["lago_id"], "filters": filters, "tax_codes": ["vat"]}],
                "minimum_commitment": {"amount_cents": 1},
            }
        },
        headers=tenant_a.headers,
    )
    assert response.status_code == 200, response.text
    plan = response.json()["plan"]
    assert plan["charges"][0]["filters"] == [
        {
            "invoice_display_name": None,
            "properties": {"amount": "0.01"},
            "values": {"region": ["us"]},
        },
        filters[1],
    ]
    assert [t["code"] for t in plan["charges"][0]["taxes"]] == ["vat"]
    assert plan["minimum_commitment"]["amount_cents"] == 1
    assert plan["minimum_commitment"]["invoice_display_name"] == "Commitment"
    assert plan["minimum_commitment"]["taxes"] == [items["vat"]]
    assert plan["taxes"] == [items["vat"]]  # absent tax_codes keep the plan's taxes
    async with sessions() as session:
        rows = (await session.scalars(select(ChargeFilter))).all()
        assert sorted(r.deleted_at is None for r in rows) == [False, True, True]
        applied = (await session.scalars(select(AppliedTax))).all()
        assert len(applied) == 2  # the plan's vat and the charge's vat; "reduced" is gone
    renamed = await client.put(
        f"{URL}/startup",
        json={"plan": {"minimum_commitment": {"invoice_display_name": "Floor"}}},
        headers=tenant_a.headers,
    )
    commitment = renamed.json()["plan"]["minimum_commitment"]
    assert (commitment["amount_cents"], commitment["invoice_display_name"]) == (1, "Floor")
    removed = await client.put(
        f"{URL}/startup", json={"plan": {"minimum_commitment": {}}}, headers=tenant_a.headers
    )
    assert removed.json()["plan"]["minimum_commitment"] is None
    # Deleting a tax takes it off the commitment too.
    again = await client.put(
        f"{URL}/startup",
        json={"plan": {"minimum_commitment": {"amount_cents": 9, "tax_codes": ["reduced"]}}},
        headers=tenant_a.headers,
    )
    assert again.json()["plan"]["minimum_commitment"]["taxes"] == [items["reduced"]]
    assert (
        await client.delete("/api/v1/taxes/reduced", headers=tenant_a.headers)
    ).status_code == 200
    fetched = (await client.get(f"{URL}/startup", headers=tenant_a.headers)).json()["plan"]
    assert fetched["minimum_commitment"]["taxes"] == []


async def test_update_validation_and_404(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await post_plan(client, tenant_a, simple_plan("a"))
    await post_plan(client, tenant_a, simple_plan("b"))
    taken = await client.put(f"{URL}/a", json={"plan": {"code": "b"}}, headers=tenant_a.headers)
    assert taken.json() == _error_body({"code": ["value_already_exist"]})
    bad = await client.put(
        f"{URL}/a",
        json={"plan": {"charges": [{"charge_model": "standard"}]}},
        headers=tenant_a.headers,
    )
    assert bad.json() == _error_body({"charges.0.billable_metric_id": ["value_is_mandatory"]})
    renamed = await client.put(f"{URL}/a", json={"plan": {"code": "c"}}, headers=tenant_a.headers)
    assert renamed.json()["plan"]["code"] == "c"
    for method in ("GET", "PUT", "DELETE"):
        kwargs: dict[str, Any] = {"json": {"plan": {}}} if method == "PUT" else {}
        response = await client.request(method, f"{URL}/a", headers=tenant_a.headers, **kwargs)
        assert response.status_code == 404
        assert response.json() == {"status": 404, "error": "Not Found", "code": "plan_not_found"}


async def test_delete_soft_deletes_plan_and_charges(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    items = await catalog(client, tenant_a)
    created = (await post_plan(client, tenant_a, startup_plan(items))).json()["plan"]
    deleted = await client.delete(f"{URL}/startup", headers=tenant_a.headers)
    assert deleted.status_code == 200
    assert deleted.json() == {"plan": created}
    assert (await client.get(f"{URL}/startup", headers=tenant_a.headers)).status_code == 404
    async with sessions() as session:
        charges = (await session.scalars(select(Charge))).all()
        assert len(charges) == 7
        assert all(c.deleted_at is not None for c in charges)
    # The code is free again.
    assert (await post_plan(client, tenant_a, simple_plan("startup"))).status_code == 200


async def test_list_is_paginated_newest_first(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    for code in ("p0", "p1", "p2"):
        await post_plan(client, tenant_a, simple_plan(code))
    first = await client.get(URL, params={"per_page": 2}, headers=tenant_a.headers)
    assert [p["code"] for p in first.json()["plans"]] == ["p2", "p1"]
    assert first.json()["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 3,
    }
    second = await client.get(URL, params={"page": 2, "per_page": 2}, headers=tenant_a.headers)
    assert [p["code"] for p in second.json()["plans"]] == ["p0"]


async def test_organizations_are_isolated(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    items = await catalog(client, tenant_a)
    assert (await post_plan(client, tenant_a, startup_plan(items))).status_code == 200
    for method in ("GET", "PUT", "DELETE"):
        kwargs: dict[str, Any] = {"json": {"plan": {}}} if method == "PUT" else {}
        response = await client.request(
            method, f"{URL}/startup", headers=tenant_b.headers, **kwargs
        )
        assert response.status_code == 404
    assert (await client.get(URL, headers=tenant_b.headers)).json()["plans"] == []
    # B cannot price with A's metric, nor tax with A's tax.
    charge = {"billable_metric_id": items["calls"]["lago_id"], "charge_model": "standard"}
    stolen = await post_plan(client, tenant_b, simple_plan(charges=[charge]))
    assert stolen.status_code == 404
    assert stolen.json()["code"] == "billable_metric_not_found"
    taxed = await post_plan(client, tenant_b, simple_plan(tax_codes=["vat"]))
    assert taxed.json()["code"] == "tax_not_found"
    # Same code in another organization is fine.
    assert (await post_plan(client, tenant_b, simple_plan("startup"))).status_code == 200
    mine = (await client.get(f"{URL}/startup", headers=tenant_a.headers)).json()["plan"]
    assert len(mine["charges"]) == 7


async def test_every_charge_model_round_trips_unchanged(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    items = await catalog(client, tenant_a)
    sent = every_model_charges(items)
    created = (await post_plan(client, tenant_a, simple_plan(charges=copy.deepcopy(sent)))).json()
    got = created["plan"]["charges"]
    assert [c["charge_model"] for c in got] == [c["charge_model"] for c in sent]
    assert [c["properties"] for c in got] == [c["properties"] for c in sent]
    # Sending back what was read changes nothing.
    echoed = [
        {"id": c["lago_id"], "billable_metric_id": c["lago_billable_metric_id"]}
        | {key: c[key] for key in ("charge_model", "properties", "filters", "pay_in_advance")}
        | {key: c[key] for key in ("invoiceable", "regroup_paid_fees", "prorated", "code")}
        for c in got
    ]
    again = await client.put(
        f"{URL}/basic", json={"plan": {"charges": echoed}}, headers=tenant_a.headers
    )
    assert again.json()["plan"]["charges"] == got
