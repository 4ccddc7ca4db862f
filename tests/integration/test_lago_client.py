"""The unmodified lago-python-client from PyPI against a live bxb."""

from __future__ import annotations

import asyncio

import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.organization import (
    Organization,
    OrganizationBillingConfiguration,
)

from tests.support.auth import Tenant


async def test_lago_client_updates_the_organization(live_api: str, tenant_a: Tenant) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    update = Organization(
        default_currency="EUR",
        timezone="Europe/Berlin",
        email="ops@a.example",
        billing_configuration=OrganizationBillingConfiguration(invoice_grace_period=2),
    )
    result = await asyncio.to_thread(lago.organizations.update, update)
    assert result.name == "Org A"
    assert result.timezone == "Europe/Berlin"
    assert result.email == "ops@a.example"
    assert result.billing_configuration is not None
    assert result.billing_configuration.invoice_grace_period == 2


async def test_lago_client_sees_401_for_a_wrong_key(live_api: str, tenant_a: Tenant) -> None:
    lago = Client(api_key="bxb_wrong_wrong_wrong_wrong", api_url=live_api)
    with pytest.raises(LagoApiError) as failure:
        await asyncio.to_thread(lago.organizations.update, Organization(default_currency="USD"))
    assert failure.value.status_code == 401
