"""Usage alerts end to end, with real Temporal: an event crosses a threshold and the signed
alert.triggered webhook reaches a receiver within seconds, exactly once."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import TriggeredAlert
from tests.support.subscriptions import SubscriptionApi
from tests.support.webhook_receiver import Delivery, WebhookReceiver

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

DEADLINE = 10.0  # seconds: generous for a loaded 2-core machine; measured below


def alerts_of(receiver: WebhookReceiver) -> list[Delivery]:
    return [
        d
        for d in receiver.deliveries
        if d.verified and d.payload["webhook_type"] == "alert.triggered"
    ]


async def wait_for(receiver: WebhookReceiver, count: int, deadline: float = DEADLINE) -> float:
    """Seconds until `count` alert deliveries arrived."""
    started = time.monotonic()
    while len(alerts_of(receiver)) < count:
        assert time.monotonic() - started < deadline, [d.payload for d in receiver.deliveries]
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def send_events(api: SubscriptionApi, first: int, n: int) -> None:
    events = [
        {"transaction_id": f"tx-{i}", "external_subscription_id": "sub_1", "code": "api_calls"}
        for i in range(first, first + n)
    ]
    await api.ok("POST", "/api/v1/events/batch", {"events": events})


async def test_an_event_crossing_a_threshold_sends_one_signed_webhook_within_seconds(
    subscription_api: SubscriptionApi,
    receiver: WebhookReceiver,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = subscription_api
    secret = await api.ok("GET", "/api/v1/webhook_endpoints/signing_secret")
    receiver.secret = secret["webhook_signing_secret"]["secret"]
    endpoint = {"webhook_url": receiver.url, "signature_algo": "hmac"}
    await api.ok(
        "POST",
        "/api/v1/webhook_endpoints",
        {"webhook_endpoint": {**endpoint, "event_types": ["alert.triggered"]}},
    )
    metric = {"name": "Calls", "code": "api_calls", "aggregation_type": "count_agg"}
    created = await api.ok("POST", "/api/v1/billable_metrics", {"billable_metric": metric})
    charge = {
        "billable_metric_id": created["billable_metric"]["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "0.5"},
    }
    await api.customer_on_clock("2026-03-01T00:00:00Z")
    await api.plan(amount_cents=0, charges=[charge])
    assert (await api.subscribe()).status_code == 200
    alert: dict[str, Any] = {
        "alert_type": "current_usage_amount",
        "code": "spend",
        "thresholds": [{"value": 1000, "code": "ten_dollars"}],
    }
    await api.ok("POST", "/api/v1/subscriptions/sub_1/alerts", {"alert": alert})

    await send_events(api, 0, 19)  # $9.50: below
    await asyncio.sleep(2)
    assert alerts_of(receiver) == []

    # Two batches at once, each crossing $10 on its own: one webhook.
    sent = time.monotonic()
    await asyncio.gather(send_events(api, 19, 1), send_events(api, 20, 1))
    latency = await wait_for(receiver, 1)
    (delivery,) = alerts_of(receiver)
    triggered = delivery.payload["triggered_alert"]
    assert triggered["alert_code"] == "spend"
    assert triggered["previous_value"] in ("950.0", "1000.0")
    assert triggered["current_value"] in ("1000.0", "1050.0")
    assert triggered["crossed_thresholds"] == [
        {"code": "ten_dollars", "value": "1000.0", "recurring": False}
    ]
    assert delivery.headers["x-lago-signature-algorithm"] == "hmac"
    log.warning(
        "event to alert.triggered: %.2f s (%.2f s waited)", time.monotonic() - sent, latency
    )

    # More batches at once, past the threshold: nothing more.
    await asyncio.gather(*(send_events(api, 100 + 10 * k, 10) for k in range(3)))
    await asyncio.sleep(3)
    assert len(alerts_of(receiver)) == 1
    async with sessions() as session:
        assert len((await session.scalars(select(TriggeredAlert))).all()) == 1

    # An alert created when usage is already past its threshold fires at once, without
    # waiting for the next event (51 calls so far).
    units = {
        "alert_type": "billable_metric_current_usage_units",
        "code": "calls",
        "billable_metric_code": "api_calls",
        "thresholds": [{"value": 30}],
    }
    await api.ok("POST", "/api/v1/subscriptions/sub_1/alerts", {"alert": units})
    await wait_for(receiver, 2)
    calls = alerts_of(receiver)[1].payload["triggered_alert"]
    assert (calls["alert_code"], calls["previous_value"], calls["current_value"]) == (
        "calls",
        "0.0",
        "51.0",
    )


async def test_credits_consumed_by_a_period_invoice_fire_the_wallet_alert(
    subscription_api: SubscriptionApi, receiver: WebhookReceiver
) -> None:
    """The workflow's invoice takes $31 of a $50 wallet: its low-balance alert ($25)
    reaches the receiver, dispatched by the activity that finalized the invoice."""
    api = subscription_api
    secret = await api.ok("GET", "/api/v1/webhook_endpoints/signing_secret")
    receiver.secret = secret["webhook_signing_secret"]["secret"]
    endpoint = {"webhook_url": receiver.url, "signature_algo": "hmac"}
    await api.ok("POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})
    await api.customer_on_clock("2026-03-01T00:00:00Z", currency="USD")
    wallet = {
        "external_customer_id": "cus_1",
        "rate_amount": "1",
        "currency": "USD",
        "code": "main",
        "granted_credits": "50",
    }
    await api.ok("POST", "/api/v1/wallets", {"wallet": wallet})
    low = {"alert_type": "wallet_balance_amount", "code": "low", "thresholds": [{"value": 2500}]}
    await api.ok("POST", "/api/v1/customers/cus_1/wallets/main/alerts", {"alert": low})
    await api.plan(amount_cents=3100, pay_in_advance=True)
    assert (await api.subscribe()).status_code == 200
    await wait_for(receiver, 1)
    (delivery,) = alerts_of(receiver)
    triggered = delivery.payload["triggered_alert"]
    assert (triggered["alert_code"], triggered["previous_value"], triggered["current_value"]) == (
        "low",
        "5000.0",
        "1900.0",
    )
    assert triggered["crossed_thresholds"] == [
        {"code": None, "value": "2500.0", "recurring": False}
    ]
