"""Portal tokens: who they admit, and everything they must not admit (issue 11)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import jwt
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core.cli import main
from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.models import PortalSecret
from bxb.models.base import utcnow
from bxb.portal.secrets import rotate_stored_secret
from bxb.portal.tokens import SigningKey, configured_key, sign
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.portal import UNAUTHORIZED, bearer, create_customer, portal_token, token_of

SECRET_1 = "first-portal-secret-0123456789abcdef"
SECRET_2 = "second-portal-secret-0123456789abcdef"


async def _client(settings: Settings, **update: object) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(create_app(settings.model_copy(update=update))):
        yield client


async def _profile(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/v1/portal/profile", headers=bearer(token))


async def test_portal_url_has_lago_shape_and_admits_its_customer(
    client: httpx.AsyncClient, tenant_a: Tenant, settings: Settings
) -> None:
    await create_customer(client, tenant_a, "cust-a", name="Alice")
    response = await client.get("/api/v1/customers/cust-a/portal_url", headers=tenant_a.headers)
    assert response.status_code == 200
    url = response.json()["customer"]["portal_url"]
    assert list(response.json()) == ["customer"]
    assert list(response.json()["customer"]) == ["portal_url"]
    assert url.startswith(f"http://{settings.api_host}:{settings.api_port}/portal?token=")

    profile = await _profile(client, token_of(url))
    assert profile.status_code == 200
    assert profile.json()["customer"]["external_id"] == "cust-a"
    assert profile.json()["customer"]["name"] == "Alice"
    # The token lives one hour by default.
    claims = jwt.decode(token_of(url), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600


async def test_portal_url_base_is_the_public_url(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    async for client in _client(settings, public_url="https://billing.example.com/"):
        await create_customer(client, tenant_a, "cust-a")
        response = await client.get("/api/v1/customers/cust-a/portal_url", headers=tenant_a.headers)
        assert response.json()["customer"]["portal_url"].startswith(
            "https://billing.example.com/portal?token="
        )


async def test_portal_url_is_scoped_to_the_organization(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await create_customer(client, tenant_a, "cust-a")
    response = await client.get("/api/v1/customers/cust-a/portal_url", headers=tenant_b.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"
    missing = await client.get("/api/v1/customers/nobody/portal_url", headers=tenant_a.headers)
    assert missing.status_code == 404
    anonymous = await client.get("/api/v1/customers/cust-a/portal_url")
    assert anonymous.status_code == 401


async def test_query_parameter_token_and_header_precedence(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a, "cust-a")
    await create_customer(client, tenant_a, "cust-b")
    token_a = await portal_token(client, tenant_a, "cust-a")
    token_b = await portal_token(client, tenant_a, "cust-b")
    by_query = await client.get("/api/v1/portal/profile", params={"token": token_a})
    assert by_query.json()["customer"]["external_id"] == "cust-a"
    both = await client.get(
        "/api/v1/portal/profile", params={"token": token_a}, headers=bearer(token_b)
    )
    assert both.json()["customer"]["external_id"] == "cust-b"
    none = await client.get("/api/v1/portal/profile")
    assert (none.status_code, none.json()) == (401, UNAUTHORIZED)


async def test_expired_token_is_refused(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await create_customer(client, tenant_a, "cust-a")
    fresh = await portal_token(client, tenant_a, "cust-a")
    kid = jwt.get_unverified_header(fresh)["kid"]
    async with transaction(sessions) as session:
        row = await session.scalar(
            select(PortalSecret).where(PortalSecret.organization_id == tenant_a.organization_id)
        )
        assert row is not None
        assert kid == f"org-{row.id}"
        key = SigningKey(kid, row.secret)
    ids = {
        "customer_id": uuid.UUID(customer["lago_id"]),
        "organization_id": tenant_a.organization_id,
    }
    now = utcnow()
    expired = sign(key, now=now - timedelta(hours=2), ttl=timedelta(hours=1), **ids)
    response = await _profile(client, expired)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    # The same key, not expired: admitted (the refusal was the expiry).
    valid = sign(key, now=now - timedelta(minutes=59), ttl=timedelta(hours=1), **ids)
    assert (await _profile(client, valid)).status_code == 200


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_tokens_are_refused(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await create_customer(client, tenant_a, "cust-a")
    customer_b = await create_customer(client, tenant_a, "cust-b")
    token = await portal_token(client, tenant_a, "cust-a")
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})

    # Another customer's id in the claims, the signature kept.
    swapped = ".".join([header, _b64({**claims, "sub": customer_b["lago_id"]}), signature])
    # Signed by a secret bxb never had, naming bxb's key id.
    kid = jwt.get_unverified_header(token)["kid"]
    foreign = jwt.encode(claims, "x" * 48, algorithm="HS256", headers={"kid": kid})
    # No signature at all.
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": kid})
    # A portal token must be for the portal audience.
    other_audience = ".".join([header, _b64({**claims, "aud": "elsewhere"}), signature])
    for forged in (swapped, foreign, unsigned, other_audience, "not-a-token", token + "x"):
        response = await _profile(client, forged)
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED), forged
    assert (await _profile(client, token)).status_code == 200


async def test_token_of_a_deleted_customer_is_refused(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a, "cust-a")
    token = await portal_token(client, tenant_a, "cust-a")
    assert (await _profile(client, token)).status_code == 200
    deleted = await client.delete("/api/v1/customers/cust-a", headers=tenant_a.headers)
    assert deleted.status_code == 200
    response = await _profile(client, token)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    # A new customer with the same external id is another customer: the old token stays out.
    await create_customer(client, tenant_a, "cust-a")
    assert (await _profile(client, token)).status_code == 401


async def test_api_keys_and_portal_tokens_do_not_cross(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a, "cust-a")
    token = await portal_token(client, tenant_a, "cust-a")
    key_on_portal = await client.get("/api/v1/portal/profile", headers=tenant_a.headers)
    assert (key_on_portal.status_code, key_on_portal.json()) == (401, UNAUTHORIZED)
    key_as_query = await client.get("/api/v1/portal/profile", params={"token": tenant_a.api_key})
    assert key_as_query.status_code == 401
    for path in ("/api/v1/customers", "/api/v1/customers/cust-a", "/api/v1/invoices"):
        token_on_api = await client.get(path, headers=bearer(token))
        assert (token_on_api.status_code, token_on_api.json()) == (401, UNAUTHORIZED), path
    token_for_url = await client.get("/api/v1/customers/cust-a/portal_url", headers=bearer(token))
    assert token_for_url.status_code == 401


async def test_configured_secret_rotation(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    async for client in _client(settings, portal_secret=SECRET_1):
        await create_customer(client, tenant_a, "cust-a")
        old = await portal_token(client, tenant_a, "cust-a")
        assert jwt.get_unverified_header(old)["kid"] == configured_key(SECRET_1).kid
        assert (await _profile(client, old)).status_code == 200
    # Rolled: the new secret signs, the previous one still verifies.
    async for client in _client(settings, portal_secret=SECRET_2, portal_previous_secrets=SECRET_1):
        new = await portal_token(client, tenant_a, "cust-a")
        assert jwt.get_unverified_header(new)["kid"] == configured_key(SECRET_2).kid
        assert (await _profile(client, old)).status_code == 200
        assert (await _profile(client, new)).status_code == 200
    # The previous secret removed: its tokens stop working, the new ones keep working.
    async for client in _client(settings, portal_secret=SECRET_2):
        response = await _profile(client, old)
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
        assert (await _profile(client, new)).status_code == 200
    # A process configured with another secret entirely refuses both.
    async for client in _client(settings, portal_secret="another-secret-" + "z" * 32):
        assert (await _profile(client, new)).status_code == 401


async def test_stored_secret_rotation(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a, "cust-a")
    old = await portal_token(client, tenant_a, "cust-a")
    # The stored secret signs every token of the organization until it is rotated.
    assert (await portal_token(client, tenant_a, "cust-a")).split(".")[0] == old.split(".")[0]
    async with transaction(sessions) as session:
        await rotate_stored_secret(session, tenant_a.organization_id, utcnow())
    new = await portal_token(client, tenant_a, "cust-a")
    assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
    assert (await _profile(client, old)).status_code == 200  # retired, within a token lifetime
    assert (await _profile(client, new)).status_code == 200
    async with transaction(sessions) as session:
        await session.execute(
            update(PortalSecret)
            .where(PortalSecret.retired_at.is_not(None))
            .values(retired_at=utcnow() - timedelta(hours=1, seconds=1))
        )
    response = await _profile(client, old)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert (await _profile(client, new)).status_code == 200


async def test_stored_secret_is_per_organization(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await create_customer(client, tenant_a, "cust-a")
    await create_customer(client, tenant_b, "cust-a")
    token_a = await portal_token(client, tenant_a, "cust-a")
    token_b = await portal_token(client, tenant_b, "cust-a")
    assert jwt.get_unverified_header(token_a)["kid"] != jwt.get_unverified_header(token_b)["kid"]
    # Organization X's key id with organization Y's claims: no such key for Y.
    header_a = token_a.split(".")[0]
    _, payload_b, signature_b = token_b.split(".")
    mixed = ".".join([header_a, payload_b, signature_b])
    assert (await _profile(client, mixed)).status_code == 401
    profile_b = await _profile(client, token_b)
    assert profile_b.status_code == 200
    assert profile_b.json()["customer"]["organization"]["name"] == "Org B"


async def test_cli_rotates_the_stored_secret(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("BXB_DATA_DIR", str(settings.data_dir))
    await create_customer(client, tenant_a, "cust-a")
    old = await portal_token(client, tenant_a, "cust-a")
    argv = ["org", "rotate-portal-secret", str(tenant_a.organization_id)]
    assert await asyncio.to_thread(main, argv) == 0
    assert "rotated" in capsys.readouterr().out
    new = await portal_token(client, tenant_a, "cust-a")
    assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
    assert (await _profile(client, old)).status_code == 200
    assert (await _profile(client, new)).status_code == 200
    with pytest.raises(SystemExit):
        await asyncio.to_thread(main, ["org", "rotate-portal-secret", str(uuid.uuid4())])
