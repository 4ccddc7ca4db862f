"""Helpers for portal tests: customers, and their portal tokens through the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.auth import Tenant


async def create_customer(
    client: httpx.AsyncClient, tenant: Tenant, external_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"customer": {"external_id": external_id, "currency": "USD", **fields}}
    response = await client.post("/api/v1/customers", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    customer: dict[str, Any] = response.json()["customer"]
    return customer


def token_of(portal_url: str) -> str:
    return parse_qs(urlsplit(portal_url).query)["token"][0]


async def portal_token(client: httpx.AsyncClient, tenant: Tenant, external_id: str) -> str:
    response = await client.get(
        f"/api/v1/customers/{external_id}/portal_url", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return token_of(response.json()["customer"]["portal_url"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


UNAUTHORIZED = {"status": 401, "error": "Unauthorized"}
