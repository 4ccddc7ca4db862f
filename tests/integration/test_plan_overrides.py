"""plan_overrides as Lago's child plans: their 422s, the subscription-scoped reads of the
overridden charges, and cascade_updates from the parent plan into its children."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Charge, FixedCharge, Plan
from tests.support.auth import Tenant
from tests.support.plan_catalog import catalog, child_plan, ok, status_of, subscription_on


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
    kept = await child_plan(sessions, tenant_a, {"amount_cents": 9000})
    overridden = await child_plan(
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
    child = await child_plan(
        sessions,
        tenant_a,
        {
            "charges": [{"id": charge_id, "properties": {"amount": "0.5"}}],
            "fixed_charges": [{"id": fixed["fixed_charge"]["lago_id"], "units": 6}],
        },
    )
    await subscription_on(client, sessions, tenant_a, child)
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


async def test_plan_update_with_cascade_updates(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    made = await catalog(client, tenant_a)
    charge_id = made["plan"]["charges"][0]["lago_id"]
    kept = await child_plan(sessions, tenant_a, {"name": "Pro for ACME"})
    overridden = await child_plan(
        sessions,
        tenant_a,
        {"amount_cents": 9000, "charges": [{"id": charge_id, "properties": {"amount": "0.5"}}]},
    )
    change = {
        "amount_cents": 6000,
        "cascade_updates": True,
        "charges": [
            {"id": charge_id, "properties": {"amount": "2"}},
            {
                "billable_metric_id": made["metric"]["lago_id"],
                "code": "extra",
                "charge_model": "standard",
                "properties": {"amount": "4"},
            },
        ],
    }
    await ok(client, tenant_a, "PUT", "/api/v1/plans/pro", {"plan": change})

    async def state(plan_id: uuid.UUID) -> tuple[int, list[tuple[str | None, dict[str, Any]]]]:
        async with sessions() as session:
            plan = await session.get(Plan, plan_id)
            assert plan is not None
            rows = await session.scalars(
                select(Charge)
                .where(Charge.plan_id == plan_id, Charge.deleted_at.is_(None))
                .order_by(Charge.created_at)
            )
            return plan.amount_cents, [(c.code, c.properties) for c in rows]

    # The child that kept the parent's prices follows; the overridden one keeps its own.
    assert await state(kept) == (6000, [("calls", {"amount": "2"}), ("extra", {"amount": "4"})])
    assert await state(overridden) == (
        9000,
        [("calls", {"amount": "0.5"}), ("extra", {"amount": "4"})],
    )
    # A charge removed with cascade_updates leaves the children too.
    removal = {"cascade_updates": True, "charges": [{"id": charge_id}]}
    await ok(client, tenant_a, "PUT", "/api/v1/plans/pro", {"plan": removal})
    assert [code for code, _ in (await state(kept))[1]] == ["calls"]
    assert [code for code, _ in (await state(overridden))[1]] == ["calls"]
    # Without the flag, nothing reaches them.
    await ok(client, tenant_a, "PUT", "/api/v1/plans/pro", {"plan": {"amount_cents": 100}})
    assert (await state(kept))[0] == 6000


async def test_a_refused_subscription_writes_nothing(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """An external_id live for another customer, or an end in the past, is refused before
    anything is written: not the customer's currency (its first subscription would fix
    it), not an override plan."""
    made = await catalog(client, tenant_a)
    await subscription_on(client, sessions, tenant_a, uuid.UUID(made["plan"]["lago_id"]))
    await ok(client, tenant_a, "POST", "/api/v1/customers", {"customer": {"external_id": "cus_2"}})
    body = {
        "external_customer_id": "cus_2",
        "plan_code": "pro",
        "external_id": "sub_9",  # cus_9's
        "plan_overrides": {"amount_cents": 100},
    }
    code, answer = await status_of(
        client, tenant_a, "POST", "/api/v1/subscriptions", {"subscription": body}
    )
    assert (code, answer["error_details"]) == (422, {"external_id": ["value_already_exist"]})
    # An end before the start, for a new external_id: refused before any write too.
    body |= {"external_id": "sub_new", "ending_at": "2020-01-01T00:00:00Z"}
    code, answer = await status_of(
        client, tenant_a, "POST", "/api/v1/subscriptions", {"subscription": body}
    )
    assert (code, answer["error_details"]) == (422, {"ending_at": ["invalid_date"]})
    customer = await ok(client, tenant_a, "GET", "/api/v1/customers/cus_2")
    assert customer["customer"]["currency"] is None
    async with sessions() as session:
        children = await session.scalars(select(Plan.id).where(Plan.parent_id.is_not(None)))
        assert list(children) == []
