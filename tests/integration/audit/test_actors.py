"""Who is recorded: the portal's customer, the CLI's user."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.governance.audit.cli import as_cli
from bxb.models import ActivityLog, Customer
from tests.support.auth import Tenant
from tests.support.portal import bearer, create_customer, portal_token


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[ActivityLog]:
    async with sessions() as session:
        return list(await session.scalars(select(ActivityLog).order_by(ActivityLog.logged_at)))


async def test_a_portal_change_names_the_customer(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await create_customer(client, tenant_a, "cus_1", name="Ada")
    token = await portal_token(client, tenant_a, "cus_1")
    before = len(await _rows(sessions))
    answer = await client.put(
        "/api/v1/portal/profile", json={"customer": {"name": "Ada L."}}, headers=bearer(token)
    )
    assert answer.status_code == 200, answer.text
    new = (await _rows(sessions))[before:]
    assert [(r.activity_type, r.actor_kind, r.activity_source) for r in new] == [
        ("customer.updated", "portal", "front")
    ]
    assert str(new[0].actor_id) == customer["lago_id"]
    assert new[0].actor_label == "cus_1"
    assert new[0].external_customer_id == "cus_1"
    assert new[0].activity_object_changes == {"name": ["Ada", "Ada L."]}


async def test_a_cli_command_runs_as_the_cli_actor(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a, "cus_1", name="Ada")
    before = len(await _rows(sessions))
    with as_cli(tenant_a.organization_id):
        async with transaction(sessions) as session:
            customer = await session.scalar(select(Customer).where(Customer.external_id == "cus_1"))
            assert customer is not None
            customer.email = "ada@example.com"
    new = (await _rows(sessions))[before:]
    assert [(r.activity_type, r.actor_kind) for r in new] == [("customer.updated", "cli")]
    assert (new[0].actor_label or "").startswith("cli:")
