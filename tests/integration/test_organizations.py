"""GET/PUT /api/v1/organizations in Lago's OrganizationObject shape."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import event, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.governance import organization_cache
from bxb.models import Organization
from tests.support.auth import Tenant


async def test_get_returns_lagos_organization_object(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    response = await client.get("/api/v1/organizations", headers=tenant_a.headers)
    assert response.status_code == 200
    org = response.json()["organization"]
    assert org["lago_id"] == str(tenant_a.organization_id)
    assert org["name"] == "Org A"
    assert org["default_currency"] == "USD"
    assert org["timezone"] == "UTC"
    assert org["document_numbering"] == "per_customer"
    assert org["document_number_prefix"].startswith("ORG-")
    assert org["billing_configuration"] == {
        "invoice_footer": None,
        "invoice_grace_period": 0,
        "document_locale": "en",
        "dunning_retry_days": [1, 3, 5, 7],
        "dunning_outcome": "keep_past_due",
        "late_events_rerating": True,
    }
    assert org["created_at"].endswith("Z")


async def test_put_updates_settings_and_billing_configuration(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    body = {
        "organization": {
            "default_currency": "EUR",
            "timezone": "Europe/Paris",
            "country": "fr",
            "email": "billing@a.example",
            "net_payment_term": 30,
            "document_numbering": "per_organization",
            "billing_configuration": {"invoice_grace_period": 3, "invoice_footer": "Merci"},
        }
    }
    response = await client.put("/api/v1/organizations", json=body, headers=tenant_a.headers)
    assert response.status_code == 200
    org = response.json()["organization"]
    assert org["default_currency"] == "EUR"
    assert org["country"] == "FR"
    assert org["net_payment_term"] == 30
    assert org["billing_configuration"]["invoice_grace_period"] == 3
    assert org["billing_configuration"]["invoice_footer"] == "Merci"
    # Persisted, not just echoed.
    again = (await client.get("/api/v1/organizations", headers=tenant_a.headers)).json()
    assert again["organization"]["timezone"] == "Europe/Paris"
    assert again["organization"]["document_numbering"] == "per_organization"
    # Explicit null clears an optional field; absent fields stay.
    cleared = await client.put(
        "/api/v1/organizations", json={"organization": {"email": None}}, headers=tenant_a.headers
    )
    assert cleared.json()["organization"]["email"] is None
    assert cleared.json()["organization"]["country"] == "FR"


async def test_negative_grace_period_is_rejected(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    body = {"organization": {"billing_configuration": {"invoice_grace_period": -1}}}
    response = await client.put("/api/v1/organizations", json=body, headers=tenant_a.headers)
    assert response.status_code == 422
    assert response.json()["error_details"] == {
        "billing_configuration.invoice_grace_period": ["value_is_invalid"]
    }


async def test_dunning_campaign_is_configurable(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    billing = {"dunning_retry_days": [2, 4], "dunning_outcome": "terminate"}
    response = await client.put(
        "/api/v1/organizations",
        json={"organization": {"billing_configuration": billing}},
        headers=tenant_a.headers,
    )
    assert response.status_code == 200
    config = response.json()["organization"]["billing_configuration"]
    assert (config["dunning_retry_days"], config["dunning_outcome"]) == ([2, 4], "terminate")


async def test_bad_dunning_campaign_is_refused(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    for billing in (
        {"dunning_retry_days": [3, 1]},
        {"dunning_retry_days": [0]},
        {"dunning_retry_days": "soon"},
        {"dunning_outcome": "explode"},
    ):
        response = await client.put(
            "/api/v1/organizations",
            json={"organization": {"billing_configuration": billing}},
            headers=tenant_a.headers,
        )
        assert response.status_code == 422, billing
        assert response.json()["code"] == "validation_errors"


async def test_branding_for_the_portal_is_set_checked_and_cleared(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    body = {"organization": {"logo_url": "https://a.example/logo.png", "brand_color": "#0A7B5e"}}
    response = await client.put("/api/v1/organizations", json=body, headers=tenant_a.headers)
    assert response.status_code == 200, response.text
    org = response.json()["organization"]
    assert (org["logo_url"], org["brand_color"]) == ("https://a.example/logo.png", "#0A7B5e")

    bad = {"organization": {"logo_url": "javascript:alert(1)", "brand_color": "red"}}
    refused = await client.put("/api/v1/organizations", json=bad, headers=tenant_a.headers)
    assert refused.status_code == 422
    assert set(refused.json()["error_details"]) == {"logo_url", "brand_color"}
    kept = (await client.get("/api/v1/organizations", headers=tenant_a.headers)).json()
    assert kept["organization"]["brand_color"] == "#0A7B5e"

    cleared = await client.put(
        "/api/v1/organizations",
        json={"organization": {"logo_url": None, "brand_color": None}},
        headers=tenant_a.headers,
    )
    assert cleared.json()["organization"]["logo_url"] is None
    assert cleared.json()["organization"]["brand_color"] is None


async def test_the_organization_row_is_read_once_per_ttl_and_changes_here_show_at_once(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(organization_cache, "ORGANIZATION_CACHE_TTL_SECONDS", 60.0)
    organization_cache.forget_organizations()
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        for _ in range(3):
            response = await client.get("/api/v1/customers", headers=tenant_a.headers)
            assert response.status_code == 200
        assert sum("FROM organizations" in s for s in statements) == 1
    finally:
        event.remove(Engine, "before_cursor_execute", seen)

    # A change through this process: the request built from the cache writes it, and the
    # next request sees it at once.
    body = {"organization": {"timezone": "Europe/Paris", "net_payment_term": 15}}
    response = await client.put("/api/v1/organizations", json=body, headers=tenant_a.headers)
    assert response.status_code == 200
    shown = (await client.get("/api/v1/organizations", headers=tenant_a.headers)).json()
    assert shown["organization"]["timezone"] == "Europe/Paris"
    assert shown["organization"]["net_payment_term"] == 15
    async with sessions() as session:
        row = await session.get(Organization, tenant_a.organization_id)
        assert row is not None
        assert (row.timezone, row.net_payment_term, row.name) == ("Europe/Paris", 15, "Org A")

    # A change from elsewhere (another process, plain SQL) shows once the entry expires.
    async with sessions() as session:
        await session.execute(
            text("UPDATE organizations SET name = 'Org A2' WHERE id = :id"),
            {"id": tenant_a.organization_id},
        )
        await session.commit()
    stale = (await client.get("/api/v1/organizations", headers=tenant_a.headers)).json()
    assert stale["organization"]["name"] == "Org A"
    organization_cache.forget_organizations()  # as after the TTL
    fresh = (await client.get("/api/v1/organizations", headers=tenant_a.headers)).json()
    assert fresh["organization"]["name"] == "Org A2"


async def test_a_row_cached_between_a_change_and_its_commit_is_forgotten_at_the_commit(
    tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(organization_cache, "ORGANIZATION_CACHE_TTL_SECONDS", 60.0)
    organization_cache.forget_organizations()
    org_id = tenant_a.organization_id
    async with sessions() as writer:
        await writer.execute(
            update(Organization).where(Organization.id == org_id).values(name="Org A2")
        )
        async with sessions() as reader:  # another request, before the commit
            before = await organization_cache.organization_in(reader, org_id)
            assert before is not None
            assert before.name == "Org A"
        await writer.commit()
    async with sessions() as reader:
        after = await organization_cache.organization_in(reader, org_id)
        assert after is not None
        assert after.name == "Org A2"
