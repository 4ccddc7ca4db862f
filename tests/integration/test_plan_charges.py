"""Charge, charge-filter and fixed-charge routes of plans: Lago's shapes and 422s, and
organization isolation of every route (subscription-scoped reads included)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors
from tests.support.plan_catalog import catalog, ok, status_of, subscription_on


async def test_charge_routes_create_read_update_delete(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    made = await catalog(client, tenant_a)
    body = {
        "billable_metric_id": made["metric"]["lago_id"],
        "charge_model": "graduated",
        "properties": {
            "graduated_ranges": [
                {"from_value": 0, "to_value": 10, "per_unit_amount": "0.5", "flat_amount": "0"},
                {"from_value": 11, "to_value": None, "per_unit_amount": "0.4", "flat_amount": "0"},
            ]
        },
        "tax_codes": ["vat"],
    }
    created = (await ok(client, tenant_a, "POST", "/api/v1/plans/pro/charges", {"charge": body}))[
        "charge"
    ]
    # No code given: Lago generates one, unique in the plan ("calls" is taken).
    assert created["code"] == "calls_2"
    assert created["charge_model"] == "graduated"
    assert [t["code"] for t in created["taxes"]] == ["vat"]
    listed = await ok(client, tenant_a, "GET", "/api/v1/plans/pro/charges")
    assert [c["code"] for c in listed["charges"]] == ["calls_2", "calls"]  # newest first
    assert listed["meta"]["total_count"] == 2
    got = await ok(client, tenant_a, "GET", "/api/v1/plans/pro/charges/calls_2")
    assert got["charge"] == created
    update = {"charge_model": "standard", "properties": {"amount": "0.3"}}
    updated = await ok(
        client, tenant_a, "PUT", "/api/v1/plans/pro/charges/calls_2", {"charge": update}
    )
    assert (updated["charge"]["charge_model"], updated["charge"]["properties"]) == (
        "standard",
        {"amount": "0.3"},
    )
    plan = await ok(client, tenant_a, "GET", "/api/v1/plans/pro")
    assert [c["properties"] for c in plan["plan"]["charges"]] == [
        {"amount": "1"},
        {"amount": "0.3"},
    ]
    deleted = await ok(client, tenant_a, "DELETE", "/api/v1/plans/pro/charges/calls_2")
    assert deleted["charge"]["lago_id"] == created["lago_id"]
    assert (await status_of(client, tenant_a, "GET", "/api/v1/plans/pro/charges/calls_2"))[0] == 404


async def test_charge_routes_answer_lagos_422s(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    made = await catalog(client, tenant_a)
    metric_id = made["metric"]["lago_id"]
    path = "/api/v1/plans/pro/charges"
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        ({"charge_model": "standard"}, {"billable_metric_id": ["value_is_mandatory"]}),
        (
            {"billable_metric_id": metric_id, "charge_model": "standard", "code": "calls"},
            {"code": ["value_already_exist"]},
        ),
        (
            {
                "billable_metric_id": metric_id,
                "charge_model": "standard",
                "properties": {"amount": "-1"},
            },
            {"properties.amount": ["invalid_amount"]},
        ),
        (
            {"billable_metric_id": metric_id, "charge_model": "volume", "pay_in_advance": True},
            {"pay_in_advance": ["invalid_aggregation_type_or_charge_model"]},
        ),
    ]
    for body, details in cases:
        code, answer = await status_of(client, tenant_a, "POST", path, {"charge": body})
        assert (code, answer["error_details"]) == (422, details), body
    code, answer = await status_of(
        client, tenant_a, "POST", path, {"charge": {"billable_metric_id": str(uuid.uuid4())}}
    )
    assert (code, answer["code"]) == (404, "billable_metric_not_found")


async def test_filter_routes(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await catalog(client, tenant_a)
    path = "/api/v1/plans/pro/charges/calls/filters"
    eu = {
        "invoice_display_name": "Europe",
        "properties": {"amount": "2"},
        "values": {"region": ["eu"]},
    }
    created = (await ok(client, tenant_a, "POST", path, {"filter": eu}))["filter"]
    assert {k: v for k, v in created.items() if k not in ("lago_id", "created_at")} == {
        "charge_code": "calls",
        "invoice_display_name": "Europe",
        "properties": {"amount": "2"},
        "values": {"region": ["eu"]},
    }
    # The same values twice, and a value the metric does not declare: Lago's 422s.
    code, answer = await status_of(client, tenant_a, "POST", path, {"filter": eu})
    assert (code, answer["error_details"]) == (422, {"values": ["value_already_exist"]})
    bad = {"properties": {"amount": "1"}, "values": {"region": ["mars"]}}
    code, answer = await status_of(client, tenant_a, "POST", path, {"filter": bad})
    assert code == 422
    assert list(answer["error_details"]) == ["values.region"]
    one = f"{path}/{created['lago_id']}"
    updated = await ok(client, tenant_a, "PUT", one, {"filter": {"properties": {"amount": "3"}}})
    assert updated["filter"]["properties"] == {"amount": "3"}
    listed = await ok(client, tenant_a, "GET", path)
    assert [f["properties"] for f in listed["filters"]] == [{"amount": "3"}]
    assert (await ok(client, tenant_a, "GET", one))["filter"]["lago_id"] == created["lago_id"]
    plan = await ok(client, tenant_a, "GET", "/api/v1/plans/pro")
    assert plan["plan"]["charges"][0]["filters"][0]["properties"] == {"amount": "3"}
    await ok(client, tenant_a, "DELETE", one)
    assert (await ok(client, tenant_a, "GET", path))["filters"] == []
    assert (await status_of(client, tenant_a, "GET", one))[0] == 404


async def test_fixed_charge_routes_and_their_422s(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await catalog(client, tenant_a)
    path = "/api/v1/plans/pro/fixed_charges"
    body = {
        "add_on_code": "seat",
        "charge_model": "volume",
        "units": 5,
        "prorated": True,
        "invoice_display_name": "Seats",
        "properties": {
            "volume_ranges": [
                {"from_value": 0, "to_value": 10, "per_unit_amount": "10", "flat_amount": "0"},
                {"from_value": 11, "to_value": None, "per_unit_amount": "8", "flat_amount": "0"},
            ]
        },
        "tax_codes": ["vat"],
    }
    created = (await ok(client, tenant_a, "POST", path, {"fixed_charge": body}))["fixed_charge"]
    assert {
        k: created[k] for k in ("code", "add_on_code", "charge_model", "units", "prorated")
    } == {
        "code": "seat",
        "add_on_code": "seat",
        "charge_model": "volume",
        "units": 5.0,
        "prorated": True,
    }
    assert created["pay_in_advance"] is False
    assert [t["code"] for t in created["taxes"]] == ["vat"]
    plan = await ok(client, tenant_a, "GET", "/api/v1/plans/pro")
    assert plan["plan"]["fixed_charges"] == [created]
    one = f"{path}/seat"
    assert (await ok(client, tenant_a, "GET", one))["fixed_charge"] == created
    updated = await ok(client, tenant_a, "PUT", one, {"fixed_charge": {"units": "7.5"}})
    assert updated["fixed_charge"]["units"] == 7.5
    listed = await ok(client, tenant_a, "GET", path)
    assert [f["units"] for f in listed["fixed_charges"]] == [7.5]

    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        ({"add_on_code": "seat", "charge_model": "standard"}, {"code": ["value_already_exist"]}),
        ({"add_on_code": "seat", "code": "s2"}, {"charge_model": ["value_is_mandatory"]}),
        (
            {"add_on_code": "seat", "code": "s2", "charge_model": "volume", "pay_in_advance": True},
            {"pay_in_advance": ["invalid_charge_model"]},
        ),
        (
            {
                "add_on_code": "seat",
                "code": "s2",
                "charge_model": "graduated",
                "pay_in_advance": True,
                "prorated": True,
            },
            {"prorated": ["invalid_charge_model"]},
        ),
        (
            {
                "add_on_code": "seat",
                "code": "s2",
                "charge_model": "standard",
                "properties": {"amount": "x"},
            },
            {"properties.amount": ["invalid_amount"]},
        ),
    ]
    for bad, details in cases:
        code, answer = await status_of(client, tenant_a, "POST", path, {"fixed_charge": bad})
        assert (code, answer["error_details"]) == (422, details), bad
    code, answer = await status_of(
        client, tenant_a, "POST", path, {"fixed_charge": {"charge_model": "standard", "units": -1}}
    )
    assert code == 422
    assert list(answer["error_details"]) == ["units"]
    code, answer = await status_of(
        client, tenant_a, "POST", path, {"fixed_charge": {"add_on_code": "nope", "code": "x"}}
    )
    assert (code, answer["code"]) == (404, "add_on_not_found")
    await ok(client, tenant_a, "DELETE", one)
    assert (await status_of(client, tenant_a, "GET", one))[0] == 404


async def test_another_organization_sees_none_of_it(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    made = await catalog(client, tenant_a)
    seat = {
        "add_on_code": "seat",
        "charge_model": "standard",
        "units": 1,
        "properties": {"amount": "1"},
    }
    await ok(client, tenant_a, "POST", "/api/v1/plans/pro/fixed_charges", {"fixed_charge": seat})
    eu = {"properties": {"amount": "2"}, "values": {"region": ["eu"]}}
    created = await ok(
        client, tenant_a, "POST", "/api/v1/plans/pro/charges/calls/filters", {"filter": eu}
    )
    filter_id = created["filter"]["lago_id"]
    await subscription_on(client, sessions, tenant_a, uuid.UUID(made["plan"]["lago_id"]))
    charge = {"billable_metric_id": made["metric"]["lago_id"], "charge_model": "standard"}
    plan = "/api/v1/plans/pro"
    sub = "/api/v1/subscriptions/sub_9"
    calls: list[tuple[str, str, Any]] = [
        ("GET", f"{plan}/charges", None),
        ("POST", f"{plan}/charges", {"charge": charge}),
        ("GET", f"{plan}/charges/calls", None),
        ("PUT", f"{plan}/charges/calls", {"charge": {"properties": {"amount": "9"}}}),
        ("DELETE", f"{plan}/charges/calls", None),
        ("GET", f"{plan}/charges/calls/filters", None),
        ("POST", f"{plan}/charges/calls/filters", {"filter": eu}),
        ("GET", f"{plan}/charges/calls/filters/{filter_id}", None),
        ("PUT", f"{plan}/charges/calls/filters/{filter_id}", {"filter": {"properties": {}}}),
        ("DELETE", f"{plan}/charges/calls/filters/{filter_id}", None),
        ("GET", f"{plan}/fixed_charges", None),
        ("POST", f"{plan}/fixed_charges", {"fixed_charge": seat}),
        ("GET", f"{plan}/fixed_charges/seat", None),
        ("PUT", f"{plan}/fixed_charges/seat", {"fixed_charge": {"units": 3}}),
        ("DELETE", f"{plan}/fixed_charges/seat", None),
        ("GET", f"{sub}/charges", None),
        ("GET", f"{sub}/charges/calls", None),
        ("GET", f"{sub}/charges/calls/filters", None),
        ("GET", f"{sub}/charges/calls/filters/{filter_id}", None),
        ("GET", f"{sub}/fixed_charges", None),
        ("GET", f"{sub}/fixed_charges/seat", None),
        ("PUT", f"{sub}/charges/calls", {"charge": {"properties": {"amount": "9"}}}),
        ("PUT", f"{sub}/fixed_charges/seat", {"fixed_charge": {"units": 3}}),
    ]
    for method, path, body in calls:
        code, _ = await status_of(client, tenant_b, method, path, body)
        assert code == 404, (method, path)
    # Tenant A's rows are untouched.
    got = await ok(client, tenant_a, "GET", f"{plan}/charges/calls")
    assert got["charge"]["properties"] == {"amount": "1"}
    assert (await ok(client, tenant_a, "GET", f"{plan}/fixed_charges/seat"))["fixed_charge"][
        "units"
    ] == 1.0


async def test_answers_match_lagos_schemas(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    made = await catalog(client, tenant_a)
    seat = {
        "add_on_code": "seat",
        "charge_model": "standard",
        "units": 2,
        "properties": {"amount": "10"},
        "tax_codes": ["vat"],
    }
    fixed = await ok(
        client, tenant_a, "POST", "/api/v1/plans/pro/fixed_charges", {"fixed_charge": seat}
    )
    eu = {"properties": {"amount": "2"}, "values": {"region": ["eu"]}}
    created = await ok(
        client, tenant_a, "POST", "/api/v1/plans/pro/charges/calls/filters", {"filter": eu}
    )
    await subscription_on(client, sessions, tenant_a, uuid.UUID(made["plan"]["lago_id"]))
    filter_id = created["filter"]["lago_id"]
    answers = {
        "FixedCharge": [
            fixed,
            await ok(client, tenant_a, "GET", "/api/v1/plans/pro/fixed_charges/seat"),
        ],
        "FixedChargesPaginated": [
            await ok(client, tenant_a, "GET", "/api/v1/plans/pro/fixed_charges"),
            await ok(client, tenant_a, "GET", "/api/v1/subscriptions/sub_9/fixed_charges"),
        ],
        "Charge": [
            await ok(client, tenant_a, "GET", "/api/v1/plans/pro/charges/calls"),
            await ok(client, tenant_a, "GET", "/api/v1/subscriptions/sub_9/charges/calls"),
        ],
        "ChargesPaginated": [
            await ok(client, tenant_a, "GET", "/api/v1/plans/pro/charges"),
            await ok(client, tenant_a, "GET", "/api/v1/subscriptions/sub_9/charges"),
        ],
        "ChargeFilterResponse": [
            created,
            await ok(
                client, tenant_a, "GET", f"/api/v1/plans/pro/charges/calls/filters/{filter_id}"
            ),
        ],
        "ChargeFiltersPaginated": [
            await ok(client, tenant_a, "GET", "/api/v1/plans/pro/charges/calls/filters"),
            await ok(client, tenant_a, "GET", "/api/v1/subscriptions/sub_9/charges/calls/filters"),
        ],
    }
    plan = await ok(client, tenant_a, "GET", "/api/v1/plans/pro")
    answers["FixedChargeObject"] = plan["plan"]["fixed_charges"]
    for schema, bodies in answers.items():
        for body in bodies:
            assert lago_errors(schema, body) == [], (schema, body)


async def test_plans_take_fixed_charges_inline(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await catalog(client, tenant_a)
    seat = {
        "add_on_code": "seat",
        "charge_model": "standard",
        "units": 2,
        "properties": {"amount": "5"},
    }
    plan = {
        "name": "Team",
        "code": "team",
        "interval": "monthly",
        "amount_cents": 0,
        "amount_currency": "USD",
        "fixed_charges": [seat],
    }
    created = (await ok(client, tenant_a, "POST", "/api/v1/plans", {"plan": plan}))["plan"]
    [fixed] = created["fixed_charges"]
    assert (fixed["code"], fixed["units"], fixed["properties"]) == ("seat", 2.0, {"amount": "5"})
    # An item with its id updates it; one without creates another; those left out go.
    update = {
        "fixed_charges": [
            {"id": fixed["lago_id"], "units": 4},
            {"add_on_code": "seat", "code": "seat_b", "charge_model": "standard"},
        ]
    }
    updated = (await ok(client, tenant_a, "PUT", "/api/v1/plans/team", {"plan": update}))["plan"]
    assert [(f["code"], f["units"]) for f in updated["fixed_charges"]] == [
        ("seat", 4.0),
        ("seat_b", 0.0),
    ]
    assert updated["fixed_charges"][0]["lago_id"] == fixed["lago_id"]
    kept = {"fixed_charges": [{"id": fixed["lago_id"]}]}
    left = (await ok(client, tenant_a, "PUT", "/api/v1/plans/team", {"plan": kept}))["plan"]
    assert [f["code"] for f in left["fixed_charges"]] == ["seat"]
    bad = {
        "fixed_charges": [
            {"add_on_code": "seat", "code": "x", "charge_model": "volume", "pay_in_advance": True}
        ]
    }
    code, answer = await status_of(client, tenant_a, "PUT", "/api/v1/plans/team", {"plan": bad})
    assert (code, answer["error_details"]) == (
        422,
        {"fixed_charges.0.pay_in_advance": ["invalid_charge_model"]},
    )
    wrong = {"fixed_charges": [{"add_on_code": "seat", "charge_model": "flat"}]}
    code, answer = await status_of(client, tenant_a, "PUT", "/api/v1/plans/team", {"plan": wrong})
    assert (code, list(answer["error_details"])) == (422, ["fixed_charges.0.charge_model"])
