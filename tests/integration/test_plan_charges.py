"""Charge, charge-filter and fixed-charge routes of plans and subscriptions; plan_overrides
as child plans; cascade_updates into them; Lago's 422s; organization isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.plan_overrides import PlanOverridesIn, create_override_plan
from bxb.models import Charge, Customer, FixedCharge, Organization, Plan, Subscription
from tests.support.auth import Tenant


async def ok(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: Any = None
) -> dict[str, Any]:
    response = await client.request(method, path, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def status_of(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    response = await client.request(method, path, json=body, headers=tenant.headers)
    return response.status_code, response.json()


async def catalog(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    """A metric with a region filter, an add-on, a VAT tax and a plan with one charge."""
    metric = await ok(
        client,
        tenant,
        "POST",
        "/api/v1/billable_metrics",
        {
            "billable_metric": {
                "name": "Calls",
                "code": "calls",
                "aggregation_type": "count_agg",
                "filters": [{"key": "region", "values": ["eu", "us"]}],
            }
        },
    )
    add_on = {"name": "Seat", "code": "seat", "amount_cents": 0, "amount_currency": "USD"}
    await ok(client, tenant, "POST", "/api/v1/add_ons", {"add_on": add_on})
    tax = {"name": "VAT", "code": "vat", "rate": "20"}
    await ok(client, tenant, "POST", "/api/v1/taxes", {"tax": tax})
    plan = {
        "name": "Pro",
        "code": "pro",
        "interval": "monthly",
        "amount_cents": 5000,
        "amount_currency": "USD",
        "charges": [
            {
                "billable_metric_id": metric["billable_metric"]["lago_id"],
                "code": "calls",
                "charge_model": "standard",
                "properties": {"amount": "1"},
            }
        ],
    }
    created = await ok(client, tenant, "POST", "/api/v1/plans", {"plan": plan})
    return {"metric": metric["billable_metric"], "plan": created["plan"]}


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
    assert [c["code"] for c in listed["charges"]] == ["calls", "calls_2"]
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


async def _child_plan(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, overrides: dict[str, Any]
) -> uuid.UUID:
    async with sessions() as session:
        org = await session.get(Organization, tenant.organization_id)
        assert org is not None
        plan = await session.scalar(
            select(Plan).where(Plan.organization_id == org.id, Plan.parent_id.is_(None))
        )
        assert plan is not None
        child = await create_override_plan(
            session, org, plan, PlanOverridesIn.model_validate(overrides)
        )
        await session.commit()
        return child.id


async def test_cascade_updates_reach_children_that_kept_the_parents_price(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    made = await catalog(client, tenant_a)
    seat = {
        "add_on_code": "seat",
        "charge_model": "standard",
        "units": 2,
        "properties": {"amount": "10"},
    }
    fixed = await ok(
        client, tenant_a, "POST", "/api/v1/plans/pro/fixed_charges", {"fixed_charge": seat}
    )
    charge_id = made["plan"]["charges"][0]["lago_id"]
    fixed_id = fixed["fixed_charge"]["lago_id"]
    kept = await _child_plan(sessions, tenant_a, {"amount_cents": 9000})
    overridden = await _child_plan(
        sessions,
        tenant_a,
        {
            "charges": [{"id": charge_id, "properties": {"amount": "0.5"}}],
            "fixed_charges": [{"id": fixed_id, "units": 9}],
        },
    )
    change = {"properties": {"amount": "2"}, "cascade_updates": True}
    await ok(client, tenant_a, "PUT", "/api/v1/plans/pro/charges/calls", {"charge": change})
    fixed_change = {"properties": {"amount": "12"}, "units": 3, "cascade_updates": True}
    await ok(
        client,
        tenant_a,
        "PUT",
        "/api/v1/plans/pro/fixed_charges/seat",
        {"fixed_charge": fixed_change},
    )
    new_charge = {
        "billable_metric_id": made["metric"]["lago_id"],
        "code": "extra",
        "charge_model": "standard",
        "properties": {"amount": "4"},
        "cascade_updates": True,
    }
    await ok(client, tenant_a, "POST", "/api/v1/plans/pro/charges", {"charge": new_charge})
    async with sessions() as session:

        async def prices(plan_id: uuid.UUID) -> list[tuple[str | None, dict[str, Any]]]:
            rows = await session.scalars(
                select(Charge)
                .where(Charge.plan_id == plan_id, Charge.deleted_at.is_(None))
                .order_by(Charge.created_at)
            )
            return [(c.code, c.properties) for c in rows]

        async def seats(plan_id: uuid.UUID) -> list[tuple[dict[str, Any], float]]:
            rows = await session.scalars(select(FixedCharge).where(FixedCharge.plan_id == plan_id))
            return [(f.properties, float(f.units)) for f in rows]

        assert await prices(kept) == [("calls", {"amount": "2"}), ("extra", {"amount": "4"})]
        assert await prices(overridden) == [
            ("calls", {"amount": "0.5"}),
            ("extra", {"amount": "4"}),
        ]
        assert await seats(kept) == [({"amount": "12"}, 3.0)]
        assert await seats(overridden) == [({"amount": "10"}, 9.0)]
    # Deleting with cascade removes the children's copies; the plan lists only its own.
    await ok(
        client,
        tenant_a,
        "DELETE",
        "/api/v1/plans/pro/charges/extra",
        {"charge": {"cascade_updates": True}},
    )
    async with sessions() as session:
        left = await session.scalars(
            select(Charge.code).where(Charge.deleted_at.is_(None), Charge.code == "extra")
        )
        assert list(left) == []


async def test_plan_overrides_refused_with_lagos_422s(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    made = await catalog(client, tenant_a)
    customer = {"external_id": "cus_1", "currency": "EUR"}
    await ok(client, tenant_a, "POST", "/api/v1/customers", {"customer": customer})
    await ok(client, tenant_a, "POST", "/api/v1/customers", {"customer": {"external_id": "cus_2"}})

    async def subscribe(external_customer_id: str, overrides: dict[str, Any]) -> tuple[int, Any]:
        body = {
            "external_customer_id": external_customer_id,
            "plan_code": "pro",
            "external_id": f"sub_{uuid.uuid4().hex[:6]}",
            "plan_overrides": overrides,
        }
        return await status_of(
            client, tenant_a, "POST", "/api/v1/subscriptions", {"subscription": body}
        )

    # A customer billed in EUR cannot take the USD plan, overridden or not.
    code, answer = await subscribe("cus_1", {"amount_cents": 100})
    assert (code, answer["error_details"]) == (422, {"currency": ["currencies_does_not_match"]})
    code, answer = await subscribe("cus_2", {"amount_cents": 100, "amount_currency": "XYZ"})
    assert code == 422
    code, answer = await subscribe("cus_2", {"charges": [{"id": str(uuid.uuid4())}]})
    assert (code, answer["error_details"]) == (
        422,
        {"plan_overrides.charges.0.id": ["charge_not_found"]},
    )
    code, answer = await subscribe("cus_2", {"fixed_charges": [{"id": str(uuid.uuid4())}]})
    assert (code, answer["error_details"]) == (
        422,
        {"plan_overrides.fixed_charges.0.id": ["fixed_charge_not_found"]},
    )
    charge_id = made["plan"]["charges"][0]["lago_id"]
    code, answer = await subscribe(
        "cus_2", {"charges": [{"id": charge_id, "properties": {"amount": "-3"}}]}
    )
    assert (code, answer["error_details"]) == (
        422,
        {"plan_overrides.charges.0.properties.amount": ["invalid_amount"]},
    )
    code, answer = await subscribe("cus_2", {"usage_thresholds": [{"amount_cents": 100}]})
    assert code == 422
    # Nothing was written by the refusals: the catalog holds the one plan.
    listed = await ok(client, tenant_a, "GET", "/api/v1/plans")
    assert listed["meta"]["total_count"] == 1


async def _subscription_on(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    plan_id: uuid.UUID,
) -> None:
    """The mirror row of an active subscription on the plan (as its workflow writes it)."""
    await ok(client, tenant, "POST", "/api/v1/customers", {"customer": {"external_id": "cus_9"}})
    async with sessions() as session:
        customer = await session.scalar(
            select(Customer).where(Customer.organization_id == tenant.organization_id)
        )
        assert customer is not None
        at = datetime(2026, 1, 1, tzinfo=UTC)
        session.add(
            Subscription(
                id=uuid.uuid4(),
                organization_id=tenant.organization_id,
                external_id="sub_9",
                customer_id=customer.id,
                external_customer_id="cus_9",
                plan_id=plan_id,
                plan_code="pro",
                plan_amount_cents=5000,
                plan_amount_currency="USD",
                status="active",
                billing_time="calendar",
                subscription_at=at,
                started_at=at,
                workflow_id="wf",
            )
        )
        await session.commit()


async def test_subscription_charge_reads_show_its_overridden_plan(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    made = await catalog(client, tenant_a)
    seat = {
        "add_on_code": "seat",
        "charge_model": "standard",
        "units": 2,
        "properties": {"amount": "10"},
    }
    fixed = await ok(
        client, tenant_a, "POST", "/api/v1/plans/pro/fixed_charges", {"fixed_charge": seat}
    )
    eu = {"properties": {"amount": "2"}, "values": {"region": ["eu"]}}
    await ok(client, tenant_a, "POST", "/api/v1/plans/pro/charges/calls/filters", {"filter": eu})
    charge_id = made["plan"]["charges"][0]["lago_id"]
    child = await _child_plan(
        sessions,
        tenant_a,
        {
            "charges": [{"id": charge_id, "properties": {"amount": "0.5"}}],
            "fixed_charges": [{"id": fixed["fixed_charge"]["lago_id"], "units": 6}],
        },
    )
    await _subscription_on(client, sessions, tenant_a, child)
    base = "/api/v1/subscriptions/sub_9"
    charges = (await ok(client, tenant_a, "GET", f"{base}/charges"))["charges"]
    assert [(c["code"], c["properties"], c["lago_parent_id"]) for c in charges] == [
        ("calls", {"amount": "0.5"}, charge_id)
    ]
    one = await ok(client, tenant_a, "GET", f"{base}/charges/calls")
    assert one["charge"]["lago_id"] == charges[0]["lago_id"]
    filters = (await ok(client, tenant_a, "GET", f"{base}/charges/calls/filters"))["filters"]
    assert [(f["values"], f["properties"]) for f in filters] == [
        ({"region": ["eu"]}, {"amount": "2"})
    ]
    got = await ok(client, tenant_a, "GET", f"{base}/charges/calls/filters/{filters[0]['lago_id']}")
    assert got["filter"] == filters[0]
    fixed_charges = (await ok(client, tenant_a, "GET", f"{base}/fixed_charges"))["fixed_charges"]
    assert [(f["code"], f["units"], f["lago_parent_id"]) for f in fixed_charges] == [
        ("seat", 6.0, fixed["fixed_charge"]["lago_id"])
    ]
    assert (await ok(client, tenant_a, "GET", f"{base}/fixed_charges/seat"))["fixed_charge"][
        "units"
    ] == 6.0


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
    await _subscription_on(client, sessions, tenant_a, uuid.UUID(made["plan"]["lago_id"]))
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
