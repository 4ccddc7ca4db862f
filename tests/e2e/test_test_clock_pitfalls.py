"""Test clocks as a newcomer meets them, with the unmodified lago-python-client.

The clock is frozen on 2030-01-01, years after the wall clock. The client's Customer model
drops `test_clock_id` (a field it does not know), so the client is pointed at
`<bxb>/test_clocks/<id>/`, which adds the `X-Bxb-Test-Clock-Id` header to its requests. The
events of the customer are then checked against the clock's time, not the wall clock's:
one without a timestamp takes the clock's time, one stamped in the clock's January is
accepted (the wall clock alone would refuse it), one more than 24 h past the clock is
refused, and the invoice bills the clock's January.

Plan: $10.00 a month in arrears, calls at $0.50 each (standard charge).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.customer import Customer
from lago_python_client.models.event import Event
from lago_python_client.models.subscription import Subscription
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bxb.models import Customer as CustomerRow
from bxb.models import Event as EventRow
from bxb.models import Invoice
from tests.support.auth import Tenant

pytestmark = pytest.mark.slow


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_a_test_clock_customer_lives_on_the_clocks_time(
    live_api: str,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with httpx.AsyncClient(base_url=live_api, headers=tenant_a.headers, timeout=60) as http:

        async def ok(method: str, path: str, body: Any = None) -> dict[str, Any]:
            response = await http.request(method, path, json=body)
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()
            return result

        clock = await ok(
            "POST",
            "/api/v1/test_clocks",
            {"test_clock": {"name": "march", "frozen_time": "2030-01-01T00:00:00Z"}},
        )
        clock_id = clock["test_clock"]["lago_id"]
        metric = await ok(
            "POST",
            "/api/v1/billable_metrics",
            {
                "billable_metric": {
                    "name": "Calls",
                    "code": "calls",
                    "aggregation_type": "sum_agg",
                    "field_name": "n",
                }
            },
        )
        charge = {
            "billable_metric_id": metric["billable_metric"]["lago_id"],
            "charge_model": "standard",
            "properties": {"amount": "0.50"},
        }
        plan = {
            "name": "Basic",
            "code": "basic",
            "interval": "monthly",
            "amount_cents": 1000,
            "amount_currency": "USD",
            "charges": [charge],
        }
        await ok("POST", "/api/v1/plans", {"plan": plan})

        # The pitfall: the client's model drops the field, the customer is not on the clock.
        plain = Client(api_key=tenant_a.api_key, api_url=live_api)
        await call(
            plain.customers.create, Customer(external_id="cus_plain", test_clock_id=clock_id)
        )
        # The way round it: a client whose address names the clock.
        lago = Client(api_key=tenant_a.api_key, api_url=f"{live_api}/test_clocks/{clock_id}/")
        await call(lago.customers.create, Customer(external_id="cus_clock", currency="USD"))
        async with sessions() as session:
            rows = await session.execute(select(CustomerRow.external_id, CustomerRow.test_clock_id))
            on_clock = {row.external_id: row.test_clock_id for row in rows}
        assert on_clock == {"cus_plain": None, "cus_clock": uuid.UUID(clock_id)}

        sub = Subscription(external_customer_id="cus_clock", plan_code="basic", external_id="s1")
        created = await call(lago.subscriptions.create, sub)
        assert created.started_at == "2030-01-01T00:00:00Z"  # the clock's "now"

        # No timestamp: the clock's time. More than 24 h past the clock: refused.
        await call(
            lago.events.create,
            Event(
                transaction_id="t1",
                external_subscription_id="s1",
                code="calls",
                properties={"n": 3},
            ),
        )
        march = int(datetime(2030, 3, 1, tzinfo=UTC).timestamp())
        with pytest.raises(LagoApiError) as refused:
            await call(
                lago.events.create,
                Event(
                    transaction_id="t2",
                    external_subscription_id="s1",
                    code="calls",
                    timestamp=march,
                    properties={"n": 100},
                ),
            )
        assert refused.value.status_code == 422
        assert refused.value.response["error_details"] == {"timestamp": ["value_is_out_of_range"]}
        # On the clock's January 20: an event of January 15 is in its past (years in the
        # wall clock's future), one without a timestamp happens on January 20.
        await ok(
            "POST",
            f"/api/v1/test_clocks/{clock_id}/advance",
            {"test_clock": {"frozen_time": "2030-01-20T00:00:00Z"}},
        )
        january_15 = int(datetime(2030, 1, 15, tzinfo=UTC).timestamp())
        for event in (
            Event(
                transaction_id="t3",
                external_subscription_id="s1",
                code="calls",
                timestamp=january_15,
                properties={"n": 5},
            ),
            Event(
                transaction_id="t4",
                external_subscription_id="s1",
                code="calls",
                properties={"n": 2},
            ),
        ):
            await call(lago.events.create, event)
        async with sessions() as session:
            stored = dict(
                (await session.execute(select(EventRow.transaction_id, EventRow.timestamp))).all()
            )
        assert stored == {
            "t1": datetime(2030, 1, 1, tzinfo=UTC),
            "t3": datetime(2030, 1, 15, tzinfo=UTC),
            "t4": datetime(2030, 1, 20, tzinfo=UTC),
        }

        await ok(
            "POST",
            f"/api/v1/test_clocks/{clock_id}/advance",
            {"test_clock": {"frozen_time": "2030-02-01T00:00:00Z"}},
        )
    async with sessions() as session:
        invoices = list(await session.scalars(select(Invoice).options(selectinload(Invoice.fees))))
    # January: $10.00 + 10 calls × $0.50 = $15.00.
    assert [(i.issuing_date.isoformat(), i.total_amount_cents) for i in invoices] == [
        ("2030-02-01", 1500)
    ]
    assert sorted(f.amount_cents for f in invoices[0].fees) == [500, 1000]
