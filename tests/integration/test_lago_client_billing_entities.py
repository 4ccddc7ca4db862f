"""The unmodified lago-python-client on billing entities, and a customer placed in one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.billing_entity import (
    BillingEntity,
    BillingEntityBillingConfiguration,
    BillingEntityUpdate,
)
from lago_python_client.models.customer import Customer
from lago_python_client.models.tax import Tax

from tests.support.auth import Tenant


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_lago_client_manages_billing_entities(live_api: str, tenant_a: Tenant) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)

    created = await call(
        lago.billing_entities.create,
        BillingEntity(
            code="acme_eu",
            name="Acme Europe",
            country="FR",
            default_currency="EUR",
            document_number_prefix="EU",
            net_payment_term=30,
            billing_configuration=BillingEntityBillingConfiguration(
                invoice_footer="Merci", invoice_grace_period=3
            ),
        ),
    )
    assert (created.code, created.is_default, created.country) == ("acme_eu", False, "FR")
    assert (created.invoice_footer, created.invoice_grace_period) == ("Merci", 3)

    await call(lago.taxes.create, Tax(name="TVA", code="tva", rate=20.0))
    updated = await call(
        lago.billing_entities.update,
        BillingEntityUpdate(name="Acme EU", tax_codes=["tva"]),
        "acme_eu",
    )
    assert updated.name == "Acme EU"
    assert [tax.code for tax in updated.taxes.__root__] == ["tva"]

    found = await call(lago.billing_entities.find, "acme_eu")
    assert (found.lago_id, found.name, found.net_payment_term) == (created.lago_id, "Acme EU", 30)
    listed = await call(lago.billing_entities.find_all)
    assert [(e.code, e.is_default) for e in listed["billing_entities"]] == [
        ("org_a", True),
        ("acme_eu", False),
    ]

    customer = await call(
        lago.customers.create, Customer(external_id="cus_eu", billing_entity_code="acme_eu")
    )
    assert customer.billing_entity_code == "acme_eu"

    with pytest.raises(LagoApiError) as missing:
        await call(lago.billing_entities.find, "nope")
    assert missing.value.status_code == 404
    assert missing.value.response["code"] == "billing_entity_not_found"
