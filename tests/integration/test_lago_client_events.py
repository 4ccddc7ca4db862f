"""The unmodified lago-python-client sends events to a live bxb."""

from __future__ import annotations

import asyncio

import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.event import BatchEvent, Event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.integration.test_events import add_metric
from tests.support.auth import Tenant


async def test_lago_client_sends_single_and_batch_events_and_finds_them(
    live_api: str, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await add_metric(sessions, tenant_a, "storage", "sum_agg", "gb")
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)

    created = await asyncio.to_thread(
        lago.events.create,
        Event(
            transaction_id="lago-1",
            external_subscription_id="sub-1",
            code="storage",
            timestamp=1_735_732_800,
            properties={"gb": 3},
        ),
    )
    assert created is not None
    assert created.transaction_id == "lago-1"
    assert created.timestamp == "2025-01-01T12:00:00Z"
    assert created.properties == {"gb": 3}
    assert created.lago_customer_id is None

    # timestamp and precise_total_amount_cents are sent as null when not set.
    batch = BatchEvent(
        events=[
            Event(transaction_id="lago-2", external_subscription_id="sub-1", code="storage"),
            Event(
                transaction_id="lago-3",
                external_subscription_id="sub-1",
                code="storage",
                timestamp="1735732801.5",
                precise_total_amount_cents="12.5",
                properties={"gb": "1.5"},
            ),
        ]
    )
    assert await asyncio.to_thread(lago.events.batch_create, batch) is None

    found = await asyncio.to_thread(lago.events.find, "lago-3")
    assert found.timestamp == "2025-01-01T12:00:01.500000Z"
    assert found.precise_total_amount_cents == "12.5"
    assert found.external_subscription_id == "sub-1"
    assert found.lago_id == (await asyncio.to_thread(lago.events.find, "lago-3")).lago_id


async def test_lago_client_sees_422_and_404(
    live_api: str, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    with pytest.raises(LagoApiError) as failure:
        await asyncio.to_thread(
            lago.events.create,
            Event(transaction_id="x", external_subscription_id="sub-1", code="unknown"),
        )
    assert failure.value.status_code == 422
    assert failure.value.response is not None
    assert failure.value.response["error_details"] == {"code": ["billable_metric_not_found"]}

    with pytest.raises(LagoApiError) as missing:
        await asyncio.to_thread(lago.events.find, "nope")
    assert missing.value.status_code == 404
