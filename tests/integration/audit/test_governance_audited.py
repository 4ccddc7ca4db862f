"""Changes to who may act are in the audit trail: API keys, members, invitations, rate
limits; made through the API, a member's session or the CLI. No secret is ever logged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.settings import Settings
from bxb.models import ActivityLog, ApiKey
from tests.support.auth import Tenant
from tests.support.members import MemberApp, member_app


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[ActivityLog]:
    async with sessions() as session:
        return list(await session.scalars(select(ActivityLog).order_by(ActivityLog.logged_at)))


@pytest.fixture
async def m(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[MemberApp]:
    # After `sessions` (so closed before its truncation): the app's last API logs are
    # written before the tables are emptied, not into the next test.
    async for app in member_app(settings):
        yield app


async def test_an_api_key_created_and_revoked_through_the_api(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await client.post(
        "/api/v1/api_keys",
        json={"api_key": {"name": "Reporting", "role": "finance_viewer"}},
        headers=tenant_a.headers,
    )
    assert created.status_code == 200, created.text
    key = created.json()["api_key"]
    revoked = await client.delete(f"/api/v1/api_keys/{key['lago_id']}", headers=tenant_a.headers)
    assert revoked.status_code == 200
    rows = [r for r in await _rows(sessions) if r.resource_type == "ApiKey"]
    assert [(r.activity_type, r.actor_kind) for r in rows] == [
        ("api_key.created", "api_key"),
        ("api_key.updated", "api_key"),
    ]
    assert all(str(r.resource_id) == key["lago_id"] for r in rows)
    async with sessions() as session:
        digest = (await session.get(ApiKey, rows[0].resource_id)).key_hash  # type: ignore[union-attr]
    logged = str([(r.activity_object, r.activity_object_changes) for r in rows])
    assert digest not in logged
    assert key["value"] not in logged
    assert "revoked_at" in (rows[1].activity_object_changes or {})


async def test_a_member_session_invites_and_is_named_in_the_trail(
    m: MemberApp, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await m.add_member(tenant_a, "ada@example.com", "admin")
    csrf = {"X-CSRF-Token": m.client.cookies["bxb_csrf"]}
    invited = await m.client.post(
        "/api/v1/invites",
        json={"invite": {"email": "bob@example.com", "role": "support"}},
        headers=csrf,
    )
    assert invited.status_code == 200, invited.text
    changed = await m.client.put(
        "/api/v1/rate_limits",
        json={"rate_limits": {"reads": {"limit": 10, "period": 1}}},
        headers=csrf,
    )
    assert changed.status_code == 200, changed.text
    by_ada = [r for r in await _rows(sessions) if r.actor_kind == "member"]
    assert [(r.activity_type, r.user_email) for r in by_ada] == [
        ("invite.created", "ada@example.com"),
        ("organization.updated", "ada@example.com"),
    ]
    assert "token_hash" not in str(by_ada[0].activity_object)


async def test_a_key_issued_by_the_cli_is_logged_as_the_cli(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bxb.core.cli import main

    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("BXB_DATA_DIR", str(settings.data_dir))
    org = str(tenant_a.organization_id)
    assert (
        await asyncio.to_thread(main, ["api-key", "create", org, "Ops", "--role", "support"]) == 0
    )
    rows = [r for r in await _rows(sessions) if r.resource_type == "ApiKey"]
    assert [(r.activity_type, r.actor_kind, r.activity_source) for r in rows] == [
        ("api_key.created", "cli", "system")
    ]
    assert (rows[0].actor_label or "").startswith("cli:")
