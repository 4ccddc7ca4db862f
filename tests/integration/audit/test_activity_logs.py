"""Activity logs: one row per change, in the change's transaction, read through Lago's routes."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.governance.actor import Actor, Role, acting_as
from bxb.models import ActivityLog, Tax
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors

METRIC = {"billable_metric": {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}}


async def _logs(sessions: async_sessionmaker[AsyncSession]) -> list[ActivityLog]:
    async with sessions() as session:
        rows = await session.scalars(select(ActivityLog).order_by(ActivityLog.logged_at))
        return list(rows)


async def test_create_update_delete_leave_one_row_each(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await client.post("/api/v1/billable_metrics", json=METRIC, headers=tenant_a.headers)
    assert created.status_code == 200, created.text
    metric_id = created.json()["billable_metric"]["lago_id"]
    updated = await client.put(
        "/api/v1/billable_metrics/calls",
        json={"billable_metric": {"name": "API calls"}},
        headers=tenant_a.headers,
    )
    assert updated.status_code == 200, updated.text
    deleted = await client.delete("/api/v1/billable_metrics/calls", headers=tenant_a.headers)
    assert deleted.status_code == 200, deleted.text

    rows = await _logs(sessions)
    assert [r.activity_type for r in rows] == [
        "billable_metric.created",
        "billable_metric.updated",
        "billable_metric.deleted",
    ]
    assert {str(r.resource_id) for r in rows} == {metric_id}
    assert all(r.resource_type == "BillableMetric" for r in rows)
    assert all(r.activity_source == "api" and r.actor_kind == "api_key" for r in rows)
    assert rows[1].activity_object_changes == {"name": ["Calls", "API calls"]}
    assert rows[1].activity_object is not None
    assert rows[1].activity_object["name"] == "API calls"

    listed = await client.get("/api/v1/activity_logs", headers=tenant_a.headers)
    assert listed.status_code == 200
    assert lago_errors("ActivityLogsPaginated", listed.json()) == []
    assert next(a["activity_type"] for a in listed.json()["activity_logs"]) == (
        "billable_metric.deleted"
    )
    one = await client.get(f"/api/v1/activity_logs/{rows[0].id}", headers=tenant_a.headers)
    assert one.status_code == 200
    assert lago_errors("ActivityLog", one.json()) == []


async def test_a_refused_call_leaves_no_row(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    bad = {"billable_metric": {"name": "Calls", "code": "calls", "aggregation_type": "nope"}}
    answer = await client.post("/api/v1/billable_metrics", json=bad, headers=tenant_a.headers)
    assert answer.status_code == 422
    await client.post("/api/v1/billable_metrics", json=METRIC, headers=tenant_a.headers)
    duplicate = await client.post("/api/v1/billable_metrics", json=METRIC, headers=tenant_a.headers)
    assert duplicate.status_code == 422
    assert [r.activity_type for r in await _logs(sessions)] == ["billable_metric.created"]


async def test_service_calls_are_logged_only_with_an_actor(
    tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessions) as session:  # the worker: no actor, no row
        session.add(Tax(organization_id=tenant_a.organization_id, name="VAT", code="vat", rate=20))
    cli = Actor(tenant_a.organization_id, Role.ADMIN, "cli", label="bxb cli")
    with acting_as(cli):
        async with transaction(sessions) as session:
            tax = await session.scalar(select(Tax).where(Tax.code == "vat"))
            assert tax is not None
            tax.rate = Decimal("21")
        async with transaction(sessions) as session:  # rolled back: no row
            tax = await session.scalar(select(Tax).where(Tax.code == "vat"))
            assert tax is not None
            tax.name = "Never"
            await session.flush()
            await session.rollback()
    rows = await _logs(sessions)
    assert [(r.activity_type, r.actor_kind, r.activity_source) for r in rows] == [
        ("tax.updated", "cli", "system")
    ]
    assert rows[0].activity_object_changes == {"rate": ["20.00000", "21"]}


async def test_audit_rows_cannot_be_changed(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await client.post("/api/v1/billable_metrics", json=METRIC, headers=tenant_a.headers)
    for statement in (
        "UPDATE activity_logs SET activity_type = 'x'",
        "DELETE FROM activity_logs",
    ):
        with pytest.raises(DBAPIError, match="audit rows can't be changed"):
            async with transaction(sessions) as session:
                await session.execute(text(statement))
    assert len(await _logs(sessions)) == 1
    async with transaction(sessions) as session:  # the retention job's way
        await session.execute(text("SET LOCAL bxb.audit_retention = 'on'"))
        await session.execute(text("DELETE FROM activity_logs"))
    assert await _logs(sessions) == []


async def test_organizations_see_only_their_own_logs(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await client.post("/api/v1/billable_metrics", json=METRIC, headers=tenant_a.headers)
    mine = (await client.get("/api/v1/activity_logs", headers=tenant_a.headers)).json()
    activity_id = mine["activity_logs"][0]["activity_id"]
    theirs = await client.get("/api/v1/activity_logs", headers=tenant_b.headers)
    assert theirs.json()["activity_logs"] == []
    assert theirs.json()["meta"]["total_count"] == 0
    hidden = await client.get(f"/api/v1/activity_logs/{activity_id}", headers=tenant_b.headers)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "activity_log_not_found"
