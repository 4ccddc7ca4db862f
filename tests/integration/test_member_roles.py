"""Member sessions go through the same authorization as API keys: the role matrix, CSRF on
state changes, and the organization of the session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.settings import Settings
from bxb.models import Customer
from tests.support.auth import Tenant
from tests.support.members import MemberApp, member_app

FORBIDDEN = {"status": 403, "error": "Forbidden", "code": "forbidden_for_role"}
NEW_CUSTOMER = {"customer": {"external_id": "cus_1", "name": "Acme"}}


@pytest.fixture
async def m(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[MemberApp]:
    # After `sessions` (so closed before its truncation): the app's last API logs are
    # written before the tables are emptied, not into the next test.
    async for app in member_app(settings):
        yield app


async def _customers(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)


async def test_a_finance_viewer_member_reads_and_changes_nothing(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await m.add_member(tenant_a, "fin@example.com", "finance_viewer")
    csrf = {"X-CSRF-Token": m.client.cookies["bxb_csrf"]}
    assert (await m.client.get("/api/v1/invoices")).status_code == 200
    assert (await m.client.get("/api/v1/analytics/gross_revenue")).status_code == 200
    refused = await m.client.post("/api/v1/customers", json=NEW_CUSTOMER, headers=csrf)
    assert (refused.status_code, refused.json()) == (403, FORBIDDEN)
    assert (await m.client.get("/api/v1/api_keys")).status_code == 403
    assert await _customers(sessions) == 0


async def test_an_admin_member_changes_things_only_with_the_csrf_token(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await m.add_member(tenant_a, "ada@example.com", "admin")
    no_token = await m.client.post("/api/v1/customers", json=NEW_CUSTOMER)
    assert no_token.status_code == 403
    assert no_token.json()["code"] == "invalid_csrf_token"
    assert await _customers(sessions) == 0
    csrf = {"X-CSRF-Token": m.client.cookies["bxb_csrf"]}
    created = await m.client.post("/api/v1/customers", json=NEW_CUSTOMER, headers=csrf)
    assert created.status_code == 200, created.text
    async with sessions() as session:
        customer = (await session.scalars(select(Customer))).one()
    assert customer.organization_id == tenant_a.organization_id


async def test_a_support_member_cannot_see_api_keys_or_members(
    m: MemberApp, tenant_a: Tenant
) -> None:
    await m.add_member(tenant_a, "sam@example.com", "support")
    assert (await m.client.get("/api/v1/customers")).status_code == 200
    for path in ("/api/v1/api_keys", "/api/v1/members", "/api/v1/api_logs"):
        response = await m.client.get(path)
        assert (response.status_code, response.json()) == (403, FORBIDDEN), path


async def test_without_a_cookie_or_key_401(m: MemberApp) -> None:
    anonymous = m.browser()
    response = await anonymous.get("/api/v1/customers")
    assert response.status_code == 401
