"""Every /api/v1 request resolves its organization from the bearer key, or gets a 401."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.core.organizations import display_prefix, revoke_api_key
from bxb.models import ApiKey
from tests.support.auth import Tenant

UNAUTHORIZED = {"status": 401, "error": "Unauthorized"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer bxb_not_a_key_that_exists_anywhere"},
    ],
)
async def test_missing_or_wrong_key_is_401_in_lagos_shape(
    client: httpx.AsyncClient, tenant_a: Tenant, headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/organizations", headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


async def test_revoked_key_is_401_and_other_keys_keep_working(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert (await client.get("/api/v1/organizations", headers=tenant_a.headers)).status_code == 200
    async with transaction(sessions) as session:
        assert await revoke_api_key(session, display_prefix(tenant_a.api_key)) == 1
    response = await client.get("/api/v1/organizations", headers=tenant_a.headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert (await client.get("/api/v1/organizations", headers=tenant_b.headers)).status_code == 200


async def test_keys_are_stored_only_as_hash_and_prefix(
    tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        row = (await session.scalars(select(ApiKey))).one()
    assert row.prefix == tenant_a.api_key[:12]
    assert tenant_a.api_key not in (row.key_hash, row.prefix)
    assert len(row.key_hash) == 64


async def test_each_key_sees_only_its_own_organization(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    a = (await client.get("/api/v1/organizations", headers=tenant_a.headers)).json()
    b = (await client.get("/api/v1/organizations", headers=tenant_b.headers)).json()
    assert a["organization"]["lago_id"] == str(tenant_a.organization_id)
    assert b["organization"]["lago_id"] == str(tenant_b.organization_id)

    # A's update changes A only.
    update = {"organization": {"legal_name": "A Corp", "timezone": "Europe/Paris"}}
    response = await client.put("/api/v1/organizations", json=update, headers=tenant_a.headers)
    assert response.status_code == 200
    b_after = (await client.get("/api/v1/organizations", headers=tenant_b.headers)).json()
    assert b_after["organization"]["legal_name"] is None
    assert b_after["organization"]["timezone"] == "UTC"
