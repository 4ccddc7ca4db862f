"""The unmodified lago-python-client on subscription alerts (create_alerts, delete_alerts)
and wallet alerts (every method of its wallet alert client)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.alert import Alert, AlertsList, AlertThreshold, AlertThresholdList
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.alerts import ok, subscription_setup
from tests.support.auth import Tenant


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


def thresholds(*values: str, recurring: bool = False) -> AlertThresholdList:
    return AlertThresholdList(
        __root__=[AlertThreshold(code=f"t{v}", value=v, recurring=recurring) for v in values]
    )


async def test_lago_client_manages_subscription_and_wallet_alerts(
    live_api: str, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    async with httpx.AsyncClient(base_url=live_api, timeout=60) as http:
        await subscription_setup(http, sessions, tenant_a)
        wallet = {
            "external_customer_id": "cus_1",
            "rate_amount": "1",
            "currency": "USD",
            "code": "main",
            "granted_credits": "100",
        }
        await ok(http, tenant_a, "POST", "/api/v1/wallets", {"wallet": wallet})

    created = await call(
        lago.subscriptions.create_alerts,
        "sub_1",
        AlertsList(
            alerts=[
                Alert(
                    alert_type="current_usage_amount", code="spend", thresholds=thresholds("1000")
                ),
                Alert(
                    alert_type="billable_metric_current_usage_units",
                    code="calls",
                    billable_metric_code="api_calls",
                    thresholds=thresholds("50", recurring=True),
                ),
            ]
        ),
    )
    spend, calls = created["alerts"]
    assert (spend.code, spend.alert_type, spend.previous_value) == (
        "spend",
        "current_usage_amount",
        "0.0",
    )
    assert spend.thresholds.__root__[0].value == "1000.0"
    assert calls.billable_metric.code == "api_calls"
    assert calls.thresholds.__root__[0].recurring is True
    with pytest.raises(LagoApiError) as refused:
        await call(
            lago.subscriptions.create_alerts,
            "sub_1",
            AlertsList(alerts=[Alert(alert_type="nope", code="x", thresholds=thresholds("1"))]),
        )
    assert refused.value.status_code == 422
    await call(lago.subscriptions.delete_alerts, "sub_1")
    async with httpx.AsyncClient(base_url=live_api, timeout=60) as http:
        listed = await ok(http, tenant_a, "GET", "/api/v1/subscriptions/sub_1/alerts")
    assert listed["alerts"] == []

    alerts = lago.customers.wallets.alerts
    low = await call(
        alerts.create,
        "cus_1",
        "main",
        Alert(
            alert_type="wallet_balance_amount",
            code="low",
            name="Low",
            thresholds=thresholds("2000"),
        ),
    )
    assert (low.code, low.direction, low.previous_value, low.wallet_code) == (
        "low",
        "decreasing",
        "10000.0",
        "main",
    )
    batch = await call(
        alerts.create_batch,
        "cus_1",
        "main",
        AlertsList(
            alerts=[
                Alert(alert_type="wallet_credits_balance", code="cr", thresholds=thresholds("5"))
            ]
        ),
    )
    assert [a.code for a in batch["alerts"]] == ["cr"]
    found = await call(alerts.find, "cus_1", "main", "low")
    assert found.lago_id == low.lago_id
    everything = await call(alerts.find_all, "cus_1", "main")
    assert [a.code for a in everything["alerts"]] == ["low", "cr"]
    assert everything["meta"]["total_count"] == 2
    updated = await call(
        alerts.update, "cus_1", "main", "low", Alert(name="Very low", thresholds=thresholds("500"))
    )
    assert (updated.name, updated.thresholds.__root__[0].value) == ("Very low", "500.0")
    destroyed = await call(alerts.destroy, "cus_1", "main", "cr")
    assert destroyed.code == "cr"
    await call(alerts.destroy_all, "cus_1", "main")
    assert (await call(alerts.find_all, "cus_1", "main"))["alerts"] == []
    with pytest.raises(LagoApiError) as missing:
        await call(alerts.find, "cus_1", "main", "low")
    assert missing.value.status_code == 404
