"""The Idempotency-Key header: replays, mismatches, concurrent duplicates, isolation,
released claims, leases and expiry, against the real app and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.governance.idempotency import purge_expired_idempotency_keys
from bxb.models import Coupon, Customer, IdempotencyKey
from bxb.models.base import utcnow
from tests.conftest import app_client
from tests.support.auth import Tenant

COUPON = {
    "name": "Welcome",
    "code": "welcome",
    "coupon_type": "fixed_amount",
    "amount_cents": 1000,
    "amount_currency": "USD",
    "frequency": "once",
    "expiration": "no_expiration",
}


def _headers(tenant: Tenant, key: str) -> dict[str, str]:
    return tenant.headers | {"Idempotency-Key": key}


async def _count(sessions: async_sessionmaker[AsyncSession], model: Any, tenant: Tenant) -> int:
    async with sessions() as session:
        total = await session.scalar(
            select(func.count()).where(model.organization_id == tenant.organization_id)
        )
    return int(total or 0)


async def test_same_key_and_body_replays_the_first_answer(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = {"customer": {"external_id": "cus-1", "name": "First"}}
    first = await client.post("/api/v1/customers", json=body, headers=_headers(tenant_a, "k-1"))
    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    again = await client.post("/api/v1/customers", json=body, headers=_headers(tenant_a, "k-1"))
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert await _count(sessions, Customer, tenant_a) == 1

    coupon = {"coupon": COUPON}
    first = await client.post("/api/v1/coupons", json=coupon, headers=_headers(tenant_a, "k-2"))
    again = await client.post("/api/v1/coupons", json=coupon, headers=_headers(tenant_a, "k-2"))
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content
    assert await _count(sessions, Coupon, tenant_a) == 1
    # Without the key, the same body runs again (and the coupon's code is taken).
    third = await client.post("/api/v1/coupons", json=coupon, headers=tenant_a.headers)
    assert third.status_code == 422


async def test_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = _headers(tenant_a, "k-1")
    body = {"customer": {"external_id": "cus-1", "name": "First"}}
    assert (await client.post("/api/v1/customers", json=body, headers=headers)).is_success
    other = {"customer": {"external_id": "cus-2", "name": "Second"}}
    response = await client.post("/api/v1/customers", json=other, headers=headers)
    assert response.status_code == 422
    assert response.json() == {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "idempotency_key_reused",
        "error_details": {"idempotency_key": ["used_with_another_request"]},
    }
    # Another route with the same key and body is another request as well.
    response = await client.post("/api/v1/coupons", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert await _count(sessions, Customer, tenant_a) == 1


async def test_concurrent_duplicates_have_one_effect(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = _headers(tenant_a, "together")
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/coupons", json={"coupon": COUPON}, headers=headers)
            for _ in range(6)
        )
    )
    # Run twice, a coupon code would be taken (422): every answer is the first one's.
    assert [r.status_code for r in responses] == [200] * 6
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 5
    assert await _count(sessions, Coupon, tenant_a) == 1


async def test_keys_belong_to_their_credential(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    coupon = {"coupon": COUPON}
    a = await client.post("/api/v1/coupons", json=coupon, headers=_headers(tenant_a, "shared"))
    b = await client.post("/api/v1/coupons", json=coupon, headers=_headers(tenant_b, "shared"))
    assert (a.status_code, b.status_code) == (200, 200)
    assert "idempotent-replayed" not in b.headers
    assert a.json()["coupon"]["lago_id"] != b.json()["coupon"]["lago_id"]
    assert await _count(sessions, Coupon, tenant_a) == 1
    assert await _count(sessions, Coupon, tenant_b) == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\tinside", "del\x7f"])
async def test_malformed_keys_are_refused(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    key: str,
) -> None:
    headers = tenant_a.headers | {"Idempotency-Key": key}
    response = await client.post("/api/v1/coupons", json={"coupon": COUPON}, headers=headers)
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "error": "Bad Request",
        "code": "invalid_idempotency_key",
    }
    assert await _count(sessions, Coupon, tenant_a) == 0


@pytest.fixture
async def flaky(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """The app plus a route that fails its first call (a 500), then creates a coupon."""
    app: FastAPI = create_app(settings.model_copy(update={"idempotency_wait_seconds": 0.3}))
    calls: list[int] = []

    @app.post("/api/v1/test_flaky")
    async def flaky_route() -> dict[str, int]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the first call fails")
        return {"calls": len(calls)}

    async for c in app_client(app, raise_app_exceptions=False):
        yield c


async def test_a_server_error_releases_the_key(flaky: httpx.AsyncClient, tenant_a: Tenant) -> None:
    headers = _headers(tenant_a, "retry-me")
    first = await flaky.post("/api/v1/test_flaky", headers=headers)
    assert first.status_code == 500
    second = await flaky.post("/api/v1/test_flaky", headers=headers)
    assert second.status_code == 200
    assert second.json() == {"calls": 2}
    third = await flaky.post("/api/v1/test_flaky", headers=headers)
    assert third.json() == {"calls": 2}
    assert third.headers["idempotent-replayed"] == "true"


async def _claim_row(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, key: str, **fields: Any
) -> None:
    now = utcnow()
    values: dict[str, Any] = {
        "credential_digest": hashlib.sha256(tenant.headers["Authorization"].encode()).hexdigest(),
        "key": key,
        "fingerprint": "0" * 64,
        "locked_until": now + timedelta(minutes=1),
        "created_at": now,
        "expires_at": now + timedelta(hours=24),
    } | fields
    async with transaction(sessions) as session:
        session.add(IdempotencyKey(id=uuid.uuid4(), **values))


async def test_a_running_duplicate_waits_then_gets_409(
    flaky: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _claim_row(sessions, tenant_a, "busy", fingerprint=_fingerprint_of_flaky())
    response = await flaky.post("/api/v1/test_flaky", headers=_headers(tenant_a, "busy"))
    assert response.status_code == 409
    assert response.json() == {"status": 409, "error": "Conflict", "code": "idempotency_key_in_use"}


async def test_a_crashed_claim_is_taken_over_after_its_lease(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = {"customer": {"external_id": "cus-1", "name": "First"}}
    fingerprint = _fingerprint("POST", "/api/v1/customers", b"", httpx_json(body))
    await _claim_row(sessions, tenant_a, "crashed", fingerprint=fingerprint, locked_until=utcnow())
    response = await client.post(
        "/api/v1/customers", json=body, headers=_headers(tenant_a, "crashed")
    )
    assert response.status_code == 200
    assert await _count(sessions, Customer, tenant_a) == 1


async def test_keys_expire_after_24_hours(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _claim_row(
        sessions, tenant_a, "old", finished_at=utcnow(), expires_at=utcnow() - timedelta(seconds=1)
    )
    await _claim_row(sessions, tenant_a, "older", expires_at=utcnow() - timedelta(hours=1))
    # An expired key is a new key: this request runs.
    body = {"customer": {"external_id": "cus-1", "name": "First"}}
    response = await client.post("/api/v1/customers", json=body, headers=_headers(tenant_a, "old"))
    assert response.status_code == 200
    assert "idempotent-replayed" not in response.headers
    assert await purge_expired_idempotency_keys(sessions) == 1  # "older"
    async with sessions() as session:
        keys = await session.scalars(select(IdempotencyKey.key))
        assert sorted(keys) == ["old"]


def httpx_json(body: dict[str, Any]) -> bytes:
    """The bytes httpx sends for json=body."""
    return httpx.Request("POST", "http://x", json=body).content


def _fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _fingerprint_of_flaky() -> str:
    return _fingerprint("POST", "/api/v1/test_flaky", b"", b"")
