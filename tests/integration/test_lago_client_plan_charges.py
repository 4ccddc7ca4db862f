"""The unmodified lago-python-client drives the charge, charge-filter and fixed-charge
routes of plans, and the subscription-scoped reads of them.

The client's `find_all` of child resources (plan_charges, plan_fixed_charges,
subscription_charges, subscription_fixed_charges) sends no API key (its mixin builds no
headers), so those lists are driven over HTTP in test_plan_charges.py instead.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.charge import (
    Charge,
    ChargeFilter,
    ChargeOverrides,
    ChargesOverrides,
)
from lago_python_client.models.customer import Customer
from lago_python_client.models.fixed_charge import (
    FixedCharge,
    FixedChargeOverrides,
    FixedChargeProperties,
    FixedCharges,
    FixedChargesOverrides,
)
from lago_python_client.models.plan import Plan, PlanOverrides
from lago_python_client.models.subscription import Subscription
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.auth import Tenant
from tests.support.plan_catalog import catalog, subscription_on


async def call(function: Any, *args: Any) -> Any:
    # The server runs on this event loop; the sync client must not block it.
    return await asyncio.to_thread(function, *args)


async def test_lago_client_manages_charges_filters_and_fixed_charges(
    live_api: str, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with httpx.AsyncClient(base_url=live_api, timeout=60) as http:
        made = await catalog(http, tenant_a)
        await subscription_on(http, sessions, tenant_a, uuid.UUID(made["plan"]["lago_id"]))
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)

    created = await call(
        lago.plan_charges.create,
        "pro",
        Charge(
            billable_metric_id=made["metric"]["lago_id"],
            code="calls_eu",
            charge_model="standard",
            properties={"amount": "0.2"},
            tax_codes=["vat"],
        ),
    )
    assert (created.code, created.properties) == ("calls_eu", {"amount": "0.2"})
    assert [t.code for t in created.taxes.__root__] == ["vat"]
    found = await call(lago.plan_charges.find, "pro", "calls_eu")
    assert found.lago_id == created.lago_id
    updated = await call(
        lago.plan_charges.update, "pro", "calls_eu", Charge(properties={"amount": "0.3"})
    )
    assert updated.properties == {"amount": "0.3"}
    taken = Charge(
        billable_metric_id=made["metric"]["lago_id"], code="calls_eu", charge_model="standard"
    )
    with pytest.raises(LagoApiError) as refused:
        await call(lago.plan_charges.create, "pro", taken)
    assert refused.value.status_code == 422

    europe = await call(
        lago.plans.create_charge_filter,
        "pro",
        "calls",
        ChargeFilter(properties={"amount": "2"}, values={"region": ["eu"]}),
    )
    assert europe.values == {"region": ["eu"]}
    listed = await call(lago.plans.find_all_charge_filters, "pro", "calls")
    assert [f.lago_id for f in listed["filters"]] == [europe.lago_id]
    got = await call(lago.plans.find_charge_filter, "pro", "calls", europe.lago_id)
    assert got.properties == {"amount": "2"}
    changed = await call(
        lago.plans.update_charge_filter,
        "pro",
        "calls",
        europe.lago_id,
        ChargeFilter(properties={"amount": "3"}),
    )
    assert changed.properties == {"amount": "3"}

    fixed = await call(
        lago.plan_fixed_charges.create,
        "pro",
        FixedCharge(
            add_on_code="seat",
            charge_model="standard",
            units=3,
            pay_in_advance=True,
            properties=FixedChargeProperties(amount="12.5"),
        ),
    )
    assert (fixed.code, fixed.units, fixed.pay_in_advance) == ("seat", 3.0, True)
    assert fixed.properties.amount == "12.5"
    assert (await call(lago.plan_fixed_charges.find, "pro", "seat")).lago_id == fixed.lago_id
    more = await call(lago.plan_fixed_charges.update, "pro", "seat", FixedCharge(units=4))
    assert more.units == 4.0

    # The subscription on the plan reads the plan's (not overridden) charges.
    sub_charge = await call(lago.subscription_charges.find, "sub_9", "calls")
    assert sub_charge.filters.__root__[0].properties == {"amount": "3"}
    sub_fixed = await call(lago.subscription_fixed_charges.find, "sub_9", "seat")
    assert sub_fixed.units == 4.0

    # Fixed charges inline in a plan, as the client sends them.
    team = await call(
        lago.plans.create,
        Plan(
            name="Team",
            code="team",
            interval="monthly",
            amount_cents=0,
            amount_currency="USD",
            fixed_charges=FixedCharges(
                __root__=[
                    FixedCharge(
                        add_on_code="seat",
                        charge_model="standard",
                        units=2,
                        properties=FixedChargeProperties(amount="5"),
                    )
                ]
            ),
        ),
    )
    assert [(f.code, f.units) for f in team.fixed_charges.__root__] == [("seat", 2.0)]

    await call(lago.plans.destroy_charge_filter, "pro", "calls", europe.lago_id)
    gone = await call(lago.plan_fixed_charges.destroy, "pro", "seat")
    assert gone.lago_id == fixed.lago_id
    removed = await call(lago.plan_charges.destroy, "pro", "calls_eu")
    assert removed.lago_id == created.lago_id
    with pytest.raises(LagoApiError) as missing:
        await call(lago.plan_charges.find, "pro", "calls_eu")
    assert missing.value.status_code == 404


async def test_lago_client_overrides_a_subscriptions_plan_and_charges(
    live_api: str, worker: str, tenant_a: Tenant
) -> None:
    async with httpx.AsyncClient(base_url=live_api, timeout=60) as http:
        made = await catalog(http, tenant_a)
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    await call(lago.customers.create, Customer(external_id="cus_1"))
    fixed = await call(
        lago.plan_fixed_charges.create,
        "pro",
        FixedCharge(
            add_on_code="seat",
            charge_model="standard",
            units=1,
            properties=FixedChargeProperties(amount="10"),
        ),
    )
    charge_id = made["plan"]["charges"][0]["lago_id"]
    overrides = PlanOverrides(
        amount_cents=7000,
        charges=ChargesOverrides(
            __root__=[ChargeOverrides(id=charge_id, properties={"amount": "0.5"})]
        ),
        fixed_charges=FixedChargesOverrides(
            __root__=[FixedChargeOverrides(id=fixed.lago_id, units=3)]
        ),
    )
    subscription = await call(
        lago.subscriptions.create,
        Subscription(
            external_customer_id="cus_1",
            plan_code="pro",
            external_id="sub_1",
            plan_overrides=overrides,
        ),
    )
    assert int(subscription.plan_amount_cents) == 7000
    own = await call(lago.subscription_charges.find, "sub_1", "calls")
    assert own.properties == {"amount": "0.5"}
    assert own.lago_id != charge_id  # the subscription's own copy
    seats = await call(lago.subscription_fixed_charges.find, "sub_1", "seat")
    assert seats.units == 3.0
    cheaper = await call(
        lago.subscription_charges.update, "sub_1", "calls", Charge(properties={"amount": "0.4"})
    )
    assert cheaper.properties == {"amount": "0.4"}
    more = await call(lago.subscription_fixed_charges.update, "sub_1", "seat", FixedCharge(units=5))
    assert more.units == 5.0
    assert (await call(lago.subscription_fixed_charges.find, "sub_1", "seat")).units == 5.0
    # The catalog plan is untouched.
    assert (await call(lago.plan_charges.find, "pro", "calls")).properties == {"amount": "1"}
