"""The unmodified lago-python-client on customers, taxes, add-ons, coupons, applied coupons."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.add_on import AddOn
from lago_python_client.models.applied_coupon import AppliedCoupon
from lago_python_client.models.coupon import Coupon, LimitationConfiguration
from lago_python_client.models.customer import (
    Customer,
    CustomerBillingConfiguration,
    Metadata,
    MetadataList,
)
from lago_python_client.models.tax import Tax
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import Plan
from tests.support.auth import Tenant


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_lago_client_manages_taxes_and_add_ons(live_api: str, tenant_a: Tenant) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)

    tax = await call(lago.taxes.create, Tax(name="VAT", code="vat", rate=20.0))
    assert (tax.code, tax.rate, tax.applied_to_organization) == ("vat", 20.0, False)
    updated = await call(lago.taxes.update, Tax(rate=5.5, description="reduced"), "vat")
    assert (updated.rate, updated.description) == (5.5, "reduced")
    assert (await call(lago.taxes.find, "vat")).lago_id == tax.lago_id
    listed = await call(lago.taxes.find_all, {"per_page": 10})
    assert [t.code for t in listed["taxes"]] == ["vat"]
    assert listed["meta"]["total_count"] == 1

    add_on = await call(
        lago.add_ons.create,
        AddOn(
            name="Setup", code="setup", amount_cents=5000, amount_currency="EUR", tax_codes=["vat"]
        ),
    )
    assert (add_on.amount_cents, add_on.amount_currency) == (5000, "EUR")
    assert [t.code for t in add_on.taxes.__root__] == ["vat"]
    changed = await call(lago.add_ons.update, AddOn(amount_cents=7000), "setup")
    assert changed.amount_cents == 7000
    assert (await call(lago.add_ons.find, "setup")).amount_cents == 7000
    assert [a.code for a in (await call(lago.add_ons.find_all))["add_ons"]] == ["setup"]
    assert (await call(lago.add_ons.destroy, "setup")).code == "setup"

    deleted = await call(lago.taxes.destroy, "vat")
    assert deleted.code == "vat"
    with pytest.raises(LagoApiError) as missing:
        await call(lago.taxes.find, "vat")
    assert missing.value.status_code == 404
    assert missing.value.response["code"] == "tax_not_found"


async def test_lago_client_manages_customers_and_coupons(
    live_api: str, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    async with transaction(sessions) as session:
        session.add(
            Plan(
                organization_id=tenant_a.organization_id,
                code="startup",
                name="Startup",
                interval="monthly",
                amount_cents=1000,
                amount_currency="EUR",
            )
        )
    await call(lago.taxes.create, Tax(name="VAT", code="vat", rate=20.0))

    customer = await call(
        lago.customers.create,
        Customer(
            external_id="cus_1",
            name="Gavin",
            email="gavin@hooli.test",
            currency="EUR",
            country="FR",
            metadata=MetadataList(
                __root__=[Metadata(key="po", value="123", display_in_invoice=True)]
            ),
            billing_configuration=CustomerBillingConfiguration(
                payment_provider="stripe", provider_customer_id="cus_stripe"
            ),
            tax_codes=["vat"],
        ),
    )
    assert (customer.external_id, customer.currency, customer.applicable_timezone) == (
        "cus_1",
        "EUR",
        "UTC",
    )
    assert customer.billing_configuration.provider_customer_id == "cus_stripe"
    assert [(m.key, m.value) for m in customer.metadata.__root__] == [("po", "123")]
    assert [t.code for t in customer.taxes.__root__] == ["vat"]
    # Lago's create is an upsert on external_id.
    upserted = await call(lago.customers.create, Customer(external_id="cus_1", name="Gavin B."))
    assert (upserted.lago_id, upserted.name, upserted.email) == (
        customer.lago_id,
        "Gavin B.",
        "gavin@hooli.test",
    )
    assert (await call(lago.customers.find, "cus_1")).name == "Gavin B."
    found = await call(lago.customers.find_all, {"search_term": "gavin"})
    assert [c.external_id for c in found["customers"]] == ["cus_1"]

    coupon = await call(
        lago.coupons.create,
        Coupon(
            name="Startup deal",
            code="startup_deal",
            coupon_type="percentage",
            percentage_rate=10.5,
            frequency="recurring",
            frequency_duration=3,
            expiration="no_expiration",
            reusable=False,
            applies_to=LimitationConfiguration(plan_codes=["startup"]),
        ),
    )
    assert (coupon.percentage_rate, coupon.limited_plans, coupon.plan_codes) == (
        10.5,
        True,
        ["startup"],
    )
    renamed = await call(lago.coupons.update, Coupon(name="Startup!"), "startup_deal")
    assert renamed.name == "Startup!"
    assert (await call(lago.coupons.find, "startup_deal")).frequency_duration == 3
    assert [c.code for c in (await call(lago.coupons.find_all))["coupons"]] == ["startup_deal"]

    applied = await call(
        lago.applied_coupons.create,
        AppliedCoupon(
            external_customer_id="cus_1", coupon_code="startup_deal", frequency_duration=2
        ),
    )
    assert (applied.coupon_code, applied.status, applied.frequency_duration_remaining) == (
        "startup_deal",
        "active",
        2,
    )
    assert applied.lago_customer_id == customer.lago_id
    listed = await call(lago.applied_coupons.find_all, {"external_customer_id": "cus_1"})
    assert [a.lago_id for a in listed["applied_coupons"]] == [applied.lago_id]
    terminated = await call(lago.applied_coupons.destroy, "cus_1", applied.lago_id)
    assert (terminated.status, terminated.terminated_at is not None) == ("terminated", True)
    # Not reusable: once per customer, even after termination.
    with pytest.raises(LagoApiError) as reused:
        await call(
            lago.applied_coupons.create,
            AppliedCoupon(external_customer_id="cus_1", coupon_code="startup_deal"),
        )
    assert reused.value.status_code == 422
    assert reused.value.response["error_details"] == {"coupon": ["coupon_is_not_reusable"]}

    gone = await call(lago.coupons.destroy, "startup_deal")
    assert gone.terminated_at is not None
    deleted = await call(lago.customers.destroy, "cus_1")
    assert deleted.lago_id == customer.lago_id
    with pytest.raises(LagoApiError) as missing:
        await call(lago.customers.find, "cus_1")
    assert missing.value.status_code == 404
