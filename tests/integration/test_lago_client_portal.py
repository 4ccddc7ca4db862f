"""The unmodified lago-python-client asks for a customer's portal URL (issue 11)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.customer import Customer

from tests.support.auth import Tenant
from tests.support.portal import bearer, token_of


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_lago_client_gets_a_portal_url_that_admits_the_customer(
    live_api: str, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    await call(lago.customers.create, Customer(external_id="cust-a", name="Alice"))
    url = await call(lago.customers.portal_url, "cust-a")
    # The public URL defaults to where the API listens.
    assert url.startswith(f"{live_api}/portal?token=")
    async with httpx.AsyncClient(base_url=live_api, timeout=60) as http:
        profile = await http.get("/api/v1/portal/profile", headers=bearer(token_of(url)))
    assert profile.status_code == 200
    assert (profile.json()["customer"]["external_id"], profile.json()["customer"]["name"]) == (
        "cust-a",
        "Alice",
    )

    with pytest.raises(LagoApiError) as missing:
        await call(lago.customers.portal_url, "nobody")
    assert missing.value.status_code == 404
    other_org = Client(api_key=tenant_b.api_key, api_url=live_api)
    with pytest.raises(LagoApiError) as isolated:
        await call(other_org.customers.portal_url, "cust-a")
    assert isolated.value.status_code == 404
