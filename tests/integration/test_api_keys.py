"""/api/v1/api_keys: named keys with roles, expiry, rotation, revocation, last use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.governance import key_grants, key_usage
from bxb.models import ApiKey
from tests.support.auth import Tenant, key_with_role

UNAUTHORIZED = {"status": 401, "error": "Unauthorized"}


def _later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def _create(client: httpx.AsyncClient, tenant: Tenant, **fields: object) -> dict[str, object]:
    response = await client.post(
        "/api/v1/api_keys", json={"api_key": fields}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    key: dict[str, object] = response.json()["api_key"]
    return key


def _bearer(value: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def test_create_shows_the_value_once_and_the_key_works_with_its_role(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    key = await _create(client, tenant_a, name="Reporting", role="finance_viewer")
    assert key["name"] == "Reporting"
    assert key["role"] == "finance_viewer"
    assert str(key["value"]).startswith(str(key["prefix"]))
    assert key["expires_at"] is None
    assert key["revoked_at"] is None
    headers = _bearer(key["value"])
    assert (await client.get("/api/v1/invoices", headers=headers)).status_code == 200
    # Never shown again, never stored in plain.
    shown = await client.get(f"/api/v1/api_keys/{key['lago_id']}", headers=tenant_a.headers)
    assert shown.status_code == 200
    assert "value" not in shown.json()["api_key"]
    listed = await client.get("/api/v1/api_keys", headers=tenant_a.headers)
    assert listed.json()["meta"]["total_count"] == 2
    assert all("value" not in item for item in listed.json()["api_keys"])
    async with sessions() as session:
        hashes = (await session.scalars(select(ApiKey.key_hash))).all()
    assert str(key["value"]) not in hashes


async def test_the_first_key_is_the_default_admin_key(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    listed = (await client.get("/api/v1/api_keys", headers=tenant_a.headers)).json()
    [key] = listed["api_keys"]
    assert (key["name"], key["role"]) == ("Default key", "admin")


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"api_key": {"name": "x", "role": "owner"}}, "role", None),
        ({"api_key": {"name": "x", "expires_at": "2001-01-01T00:00:00Z"}}, "expires_at", None),
        ({"api_key": {"role": "admin"}}, "name", "value_is_mandatory"),
        ({"api_key": {"name": "x", "expires_at": "tomorrow"}}, "expires_at", None),
        ({"key": {"name": "x"}}, "api_key", "value_is_mandatory"),
    ],
)
async def test_bad_input_is_422_and_creates_nothing(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    body: dict[str, object],
    field: str,
    code: str | None,
) -> None:
    response = await client.post("/api/v1/api_keys", json=body, headers=tenant_a.headers)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["code"] == "validation_errors"
    assert answer["status"] == 422
    assert field in answer["error_details"]
    if code is not None:
        assert code in answer["error_details"][field]
    async with sessions() as session:
        assert len((await session.scalars(select(ApiKey))).all()) == 1


async def test_expired_key_is_401(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    key = await _create(client, tenant_a, name="Short", role="support", expires_at=_later(hours=1))
    headers = _bearer(key["value"])
    assert (await client.get("/api/v1/customers", headers=headers)).status_code == 200
    async with sessions() as session:
        await session.execute(
            text("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": key["lago_id"]},
        )
        await session.commit()
    key_grants.forget_api_keys()  # as after the cache's TTL: the change came from elsewhere
    response = await client.get("/api/v1/customers", headers=headers)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


async def test_update_changes_name_role_and_expiry(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    key = await _create(client, tenant_a, name="Ops", role="billing_admin")
    headers = _bearer(key["value"])
    assert (await client.post("/api/v1/taxes", json={}, headers=headers)).status_code == 422
    expires = _later(days=30)
    response = await client.put(
        f"/api/v1/api_keys/{key['lago_id']}",
        json={"api_key": {"name": "Ops (read)", "role": "support", "expires_at": expires}},
        headers=tenant_a.headers,
    )
    assert response.status_code == 200, response.text
    changed = response.json()["api_key"]
    assert (changed["name"], changed["role"]) == ("Ops (read)", "support")
    assert changed["expires_at"] is not None
    # The new role applies at once in this process (the key cache forgets the key).
    denied = await client.post("/api/v1/taxes", json={}, headers=headers)
    assert denied.status_code == 403
    cleared = await client.put(
        f"/api/v1/api_keys/{key['lago_id']}",
        json={"api_key": {"expires_at": None}},
        headers=tenant_a.headers,
    )
    assert cleared.json()["api_key"]["expires_at"] is None


async def test_rotation_keeps_the_old_key_until_the_chosen_time(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    old = await _create(client, tenant_a, name="Backend", role="billing_admin")
    response = await client.post(
        f"/api/v1/api_keys/{old['lago_id']}/rotate",
        json={"api_key": {"expires_old_at": _later(hours=2)}},
        headers=tenant_a.headers,
    )
    assert response.status_code == 200, response.text
    new = response.json()["api_key"]
    assert (new["name"], new["role"]) == ("Backend", "billing_admin")
    assert new["value"] != old["value"]
    assert new["rotated_from_id"] == old["lago_id"]
    for value in (old["value"], new["value"]):
        assert (await client.get("/api/v1/plans", headers=_bearer(value))).status_code == 200
    async with sessions() as session:
        row = await session.get(ApiKey, old["lago_id"])
        assert row is not None
        assert row.expires_at is not None
        assert row.expires_at > datetime.now(UTC) + timedelta(hours=1)
    # Without a time, the old key stops at once.
    again = await client.post(f"/api/v1/api_keys/{new['lago_id']}/rotate", headers=tenant_a.headers)
    assert again.status_code == 200
    assert (await client.get("/api/v1/plans", headers=_bearer(new["value"]))).status_code == 401
    newest = again.json()["api_key"]["value"]
    assert (await client.get("/api/v1/plans", headers=_bearer(newest))).status_code == 200


async def test_revocation_and_the_last_admin_key(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        default_id = (await session.scalars(select(ApiKey.id))).one()
    refused = await client.delete(f"/api/v1/api_keys/{default_id}", headers=tenant_a.headers)
    assert refused.status_code == 422
    assert refused.json()["error_details"] == {"api_key": ["last_admin_key"]}
    demote = await client.put(
        f"/api/v1/api_keys/{default_id}",
        json={"api_key": {"role": "support"}},
        headers=tenant_a.headers,
    )
    assert demote.status_code == 422
    second = await _create(client, tenant_a, name="Second admin", role="admin")
    revoked = await client.delete(f"/api/v1/api_keys/{default_id}", headers=tenant_a.headers)
    assert revoked.status_code == 200
    assert revoked.json()["api_key"]["revoked_at"] is not None
    assert (await client.get("/api/v1/plans", headers=tenant_a.headers)).status_code == 401
    assert (await client.get("/api/v1/plans", headers=_bearer(second["value"]))).status_code == 200


async def test_keys_of_another_organization_are_invisible(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    key = await _create(client, tenant_a, name="Mine", role="support")
    path = f"/api/v1/api_keys/{key['lago_id']}"
    for method, url, body in [
        ("GET", path, None),
        ("PUT", path, {"api_key": {"name": "stolen"}}),
        ("POST", f"{path}/rotate", None),
        ("DELETE", path, None),
    ]:
        response = await client.request(method, url, json=body, headers=tenant_b.headers)
        assert response.status_code == 404, (method, url)
        assert response.json()["code"] == "api_key_not_found"
    listed = (await client.get("/api/v1/api_keys", headers=tenant_b.headers)).json()
    assert [item["name"] for item in listed["api_keys"]] == ["Default key"]
    assert (await client.get("/api/v1/plans", headers=_bearer(key["value"]))).status_code == 200


async def test_last_used_at_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1_000.0]
    monkeypatch.setattr(key_usage, "clock", lambda: now[0])
    key = await key_with_role(sessions, tenant_a, "support")

    async def last_used() -> datetime | None:
        async with sessions() as session:
            return await session.scalar(
                select(ApiKey.last_used_at).where(ApiKey.name == "support key")
            )

    assert await last_used() is None
    assert (await client.get("/api/v1/customers", headers=key.headers)).status_code == 200
    first = await last_used()
    assert first is not None
    for _ in range(5):
        assert (await client.get("/api/v1/customers", headers=key.headers)).status_code == 200
    assert await last_used() == first  # no write within the minute
    # A minute later (this process's clock), the stored time is a minute old too.
    async with sessions() as session:
        await session.execute(
            text("UPDATE api_keys SET last_used_at = last_used_at - interval '61 seconds'")
        )
        await session.commit()
    now[0] += 61
    assert (await client.get("/api/v1/customers", headers=key.headers)).status_code == 200
    second = await last_used()
    assert second is not None
    assert second > first
