"""`test_clock_id` beside the body: a header, a query parameter, or the API's address.

For clients whose Customer model drops fields it does not know (the lago-python-client):
`X-Bxb-Test-Clock-Id: <id>`, `POST /api/v1/customers?test_clock_id=<id>`, or requests sent
under `/test_clocks/<id>/api/v1/...`. The end-to-end test with the client itself and the
events checked against the clock's time is tests/e2e/test_test_clock_pitfalls.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Customer
from tests.support.auth import Tenant


async def _clock(client: httpx.AsyncClient, tenant: Tenant) -> str:
    body = {"test_clock": {"name": "c", "frozen_time": "2025-03-01T00:00:00Z"}}
    response = await client.post("/api/v1/test_clocks", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    lago_id: str = response.json()["test_clock"]["lago_id"]
    return lago_id


async def _clock_of(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, external_id: str
) -> uuid.UUID | None:
    async with sessions() as session:
        found: uuid.UUID | None = await session.scalar(
            select(Customer.test_clock_id).where(
                Customer.organization_id == tenant.organization_id,
                Customer.external_id == external_id,
            )
        )
    return found


async def _count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)


@pytest.mark.parametrize("how", ["header", "query", "address"])
async def test_the_clock_beside_the_body(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    how: str,
) -> None:
    clock = await _clock(client, tenant_a)
    path, headers, params = "/api/v1/customers", dict(tenant_a.headers), {}
    if how == "header":
        headers["X-Bxb-Test-Clock-Id"] = clock
    elif how == "query":
        params["test_clock_id"] = clock
    else:
        path = f"/test_clocks/{clock}/api/v1/customers"
    body: dict[str, Any] = {"customer": {"external_id": "cus_1", "name": "Ada"}}
    response = await client.post(path, json=body, headers=headers, params=params)
    assert response.status_code == 200, response.text
    assert response.json()["customer"]["external_id"] == "cus_1"
    assert await _clock_of(sessions, tenant_a, "cus_1") == uuid.UUID(clock)
    # Sent again the same way (an upsert): the customer stays on its clock.
    again = await client.post(path, json=body, headers=headers, params=params)
    assert again.status_code == 200, again.text
    assert await _clock_of(sessions, tenant_a, "cus_1") == uuid.UUID(clock)


@pytest.mark.parametrize(
    ("header", "query", "in_body", "code"),
    [
        ("not-a-uuid", None, None, "invalid_value"),
        (None, "42", None, "invalid_value"),
        ("A", "B", None, "value_conflict"),  # two different clocks
        ("A", None, "B", "value_conflict"),  # the body says another
        ("A", None, "none", "value_conflict"),  # the body says none
        ("unknown", None, None, "test_clock_not_found"),
    ],
)
async def test_bad_clocks_beside_the_body_are_refused(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    header: str | None,
    query: str | None,
    in_body: str | None,
    code: str,
) -> None:
    clocks = {"A": await _clock(client, tenant_a), "B": await _clock(client, tenant_a)}
    clocks["unknown"] = str(uuid.uuid4())
    headers = dict(tenant_a.headers)
    if header is not None:
        headers["X-Bxb-Test-Clock-Id"] = clocks.get(header, header)
    params = {} if query is None else {"test_clock_id": clocks.get(query, query)}
    customer: dict[str, Any] = {"external_id": "cus_1"}
    if in_body is not None:
        customer["test_clock_id"] = None if in_body == "none" else clocks[in_body]
    response = await client.post(
        "/api/v1/customers", json={"customer": customer}, headers=headers, params=params
    )
    assert response.status_code == 422, response.text
    assert response.json() == {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": {"test_clock_id": [code]},
    }
    assert await _count(sessions) == 0


async def test_another_organizations_clock_is_not_found(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = await _clock(client, tenant_a)
    for path, headers in [
        ("/api/v1/customers", {**tenant_b.headers, "X-Bxb-Test-Clock-Id": clock}),
        (f"/test_clocks/{clock}/api/v1/customers", tenant_b.headers),
    ]:
        body = {"customer": {"external_id": "cus_b"}}
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["error_details"] == {"test_clock_id": ["test_clock_not_found"]}
    assert await _count(sessions) == 0
