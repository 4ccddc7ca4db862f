"""/subscriptions/{external_id}/alerts and wallet alerts: the six operations, Lago's 422s,
and organization isolation."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import UsageAlert
from tests.support.alerts import ok, subscription_setup
from tests.support.auth import Tenant

BASE = "/api/v1/subscriptions/sub_1/alerts"


def usage_alert(**extra: Any) -> dict[str, Any]:
    return {
        "alert_type": "current_usage_amount",
        "code": "spend",
        "name": "Spend",
        "thresholds": [{"value": 1000, "code": "warn"}, {"value": "500.5"}],
        **extra,
    }


async def post(
    client: httpx.AsyncClient, tenant: Tenant, body: Any, path: str = BASE
) -> httpx.Response:
    return await client.post(path, json=body, headers=tenant.headers)


async def test_alert_lifecycle_through_the_six_operations(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    setup = await subscription_setup(client, sessions, tenant_a)
    created = (await ok(client, tenant_a, "POST", BASE, {"alert": usage_alert()}))["alert"]
    assert created["alert_type"] == "current_usage_amount"
    assert created["external_subscription_id"] == "sub_1"
    assert created["direction"] == "increasing"
    assert created["previous_value"] == "0.0"
    assert created["last_processed_at"] is None
    assert created["billable_metric"] is None
    assert created["thresholds"] == [
        {"code": "warn", "value": "1000.0", "recurring": False},
        {"code": None, "value": "500.5", "recurring": False},
    ]
    assert created["lago_organization_id"] == str(tenant_a.organization_id)

    batch = {
        "alerts": [
            {
                "alert_type": "billable_metric_current_usage_units",
                "code": "calls",
                "billable_metric_code": "api_calls",
                "thresholds": [{"value": 10}, {"value": 5, "recurring": True, "code": "every5"}],
            },
            {"alert_type": "lifetime_usage_amount", "code": "life", "thresholds": [{"value": 1}]},
        ]
    }
    both = (await ok(client, tenant_a, "POST", BASE, batch))["alerts"]
    assert [a["code"] for a in both] == ["calls", "life"]
    assert both[0]["billable_metric"]["lago_id"] == setup.metric_ids["api_calls"]
    assert both[0]["thresholds"][1] == {"code": "every5", "value": "5.0", "recurring": True}

    listed = await ok(client, tenant_a, "GET", BASE + "?per_page=2")
    assert [a["code"] for a in listed["alerts"]] == ["spend", "calls"]
    assert listed["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 3,
    }
    found = (await ok(client, tenant_a, "GET", BASE + "/calls"))["alert"]
    assert found["billable_metric"]["code"] == "api_calls"

    changed = await ok(
        client,
        tenant_a,
        "PUT",
        BASE + "/spend",
        {"alert": {"name": "Budget", "code": "budget", "thresholds": [{"value": 2500}]}},
    )
    assert changed["alert"]["name"] == "Budget"
    assert changed["alert"]["code"] == "budget"
    assert [t["value"] for t in changed["alert"]["thresholds"]] == ["2500.0"]
    assert (await client.get(BASE + "/spend", headers=tenant_a.headers)).status_code == 404

    deleted = (await ok(client, tenant_a, "DELETE", BASE + "/budget"))["alert"]
    assert deleted["code"] == "budget"
    gone = await client.get(BASE + "/budget", headers=tenant_a.headers)
    assert (gone.status_code, gone.json()["code"]) == (404, "alert_not_found")
    # The code is free again once deleted (Lago's soft delete).
    await ok(client, tenant_a, "POST", BASE, {"alert": usage_alert(code="budget")})

    assert await ok(client, tenant_a, "DELETE", BASE) == {}
    assert (await ok(client, tenant_a, "GET", BASE))["alerts"] == []
    async with sessions() as session:
        kept = await session.scalar(select(func.count()).where(UsageAlert.deleted_at.is_not(None)))
    assert kept == 4  # soft-deleted rows stay (triggered alerts point at them)


async def test_lagos_validation_errors(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    await subscription_setup(client, sessions, tenant_a)

    async def error(alert: dict[str, Any]) -> tuple[int, Any]:
        response = await post(client, tenant_a, {"alert": alert})
        body = response.json()
        return response.status_code, body.get("error_details", body.get("code"))

    assert await error(usage_alert(alert_type="nope")) == (422, {"alert_type": ["invalid_type"]})
    assert await error(usage_alert(alert_type="wallet_balance_amount")) == (
        422,
        {"alert_type": ["invalid_type"]},
    )
    assert await error(usage_alert(alert_type=None)) == (
        422,
        {"alert_type": ["value_is_mandatory", "value_is_invalid"]},
    )
    assert await error(usage_alert(thresholds=[])) == (
        422,
        {"thresholds": ["value_is_mandatory"]},
    )
    assert await error(usage_alert(thresholds=[{"value": 5}, {"value": "5.0"}])) == (
        422,
        {"thresholds": ["duplicate_threshold_values"]},
    )
    assert await error(usage_alert(thresholds=[{"value": "ten"}])) == (
        422,
        {"thresholds:value": ["value_is_invalid"]},
    )
    assert await error(usage_alert(thresholds=[{"code": "x"}])) == (
        422,
        {"thresholds:value": ["value_is_mandatory"]},
    )
    assert await error(usage_alert(thresholds=[{"value": -5, "recurring": True}])) == (
        422,
        {"thresholds:value": ["recurring_value_is_negative"]},
    )
    many = [{"value": i} for i in range(21)]
    assert await error(usage_alert(thresholds=many)) == (
        422,
        {"thresholds": ["too_many_thresholds"]},
    )
    assert await error(usage_alert(alert_type="billable_metric_current_usage_amount")) == (
        422,
        {"billable_metric": ["value_is_mandatory"]},
    )
    assert await error(usage_alert(billable_metric_code="api_calls")) == (
        422,
        {"billable_metric": ["value_must_be_blank"]},
    )
    assert await error(
        usage_alert(alert_type="billable_metric_current_usage_units", billable_metric_code="zz")
    ) == (404, "billable_metric_not_found")

    assert await error(usage_alert(code="x" * 256)) == (422, {"code": ["value_is_too_long"]})
    assert await error(usage_alert(thresholds=[{"value": 1, "code": 7}])) == (
        422,
        {"thresholds:code": ["value_is_invalid"]},
    )
    await ok(client, tenant_a, "POST", BASE, {"alert": usage_alert()})
    assert await error(usage_alert(alert_type="lifetime_usage_amount")) == (
        422,
        {"code": ["value_already_exist"]},
    )
    assert await error(usage_alert(code="other")) == (422, {"base": ["alert_already_exists"]})
    # One alert per metric and type: another metric is another alert.
    for code, metric in (("a", "api_calls"), ("b", "storage")):
        await ok(
            client,
            tenant_a,
            "POST",
            BASE,
            {
                "alert": usage_alert(
                    code=code,
                    alert_type="billable_metric_current_usage_amount",
                    billable_metric_code=metric,
                )
            },
        )

    missing = await post(
        client, tenant_a, {"alert": usage_alert()}, "/api/v1/subscriptions/x/alerts"
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "subscription_not_found")
    terminated = await client.get(
        BASE + "?subscription_status=terminated", headers=tenant_a.headers
    )
    assert terminated.status_code == 404
    assert (await post(client, tenant_a, {"alerts": []})).status_code == 400


async def test_a_batch_is_all_or_nothing_and_reports_every_error(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    await subscription_setup(client, sessions, tenant_a)
    alerts = [
        usage_alert(code="dup"),
        usage_alert(code="two", alert_type="invalid_type"),
        usage_alert(
            code="three",
            alert_type="billable_metric_current_usage_amount",
            billable_metric_code="missing",
        ),
        usage_alert(
            code="dup",
            alert_type="billable_metric_current_usage_amount",
            billable_metric_code="api_calls",
        ),
    ]
    response = await post(client, tenant_a, {"alerts": alerts})
    assert response.status_code == 422
    details = response.json()["error_details"]
    assert sorted(details) == ["1", "2", "3"]
    assert details["1"] == {"params": alerts[1], "errors": {"alert_type": ["invalid_type"]}}
    assert details["2"]["errors"] == {"billable_metric": ["billable_metric_not_found"]}
    assert details["3"]["errors"] == {"code": ["value_already_exist"]}
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(UsageAlert)) == 0


async def test_another_organization_sees_nothing(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    await subscription_setup(client, sessions, tenant_a)
    await ok(client, tenant_a, "POST", BASE, {"alert": usage_alert()})
    wallet = {"external_customer_id": "cus_1", "rate_amount": "1", "currency": "USD", "code": "w"}
    await ok(client, tenant_a, "POST", "/api/v1/wallets", {"wallet": wallet})
    wallet_base = "/api/v1/customers/cus_1/wallets/w/alerts"
    low = {"alert_type": "wallet_balance_amount", "code": "low", "thresholds": [{"value": 100}]}
    await ok(client, tenant_a, "POST", wallet_base, {"alert": low})
    for method, path in (
        ("GET", BASE),
        ("POST", BASE),
        ("DELETE", BASE),
        ("GET", BASE + "/spend"),
        ("PUT", BASE + "/spend"),
        ("DELETE", BASE + "/spend"),
        ("GET", wallet_base),
        ("POST", wallet_base),
        ("DELETE", wallet_base),
        ("GET", wallet_base + "/low"),
        ("PUT", wallet_base + "/low"),
        ("DELETE", wallet_base + "/low"),
    ):
        body = {"alert": usage_alert()} if method in ("POST", "PUT") else None
        response = await client.request(method, path, json=body, headers=tenant_b.headers)
        assert response.status_code == 404, (method, path, response.text)
    assert len((await ok(client, tenant_a, "GET", BASE))["alerts"]) == 1
    assert len((await ok(client, tenant_a, "GET", wallet_base))["alerts"]) == 1


async def test_wallet_alerts(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    await subscription_setup(client, sessions, tenant_a)
    wallet = {
        "external_customer_id": "cus_1",
        "rate_amount": "2",
        "currency": "USD",
        "code": "main",
        "granted_credits": "50",
    }
    lago_wallet = await ok(client, tenant_a, "POST", "/api/v1/wallets", {"wallet": wallet})
    base = "/api/v1/customers/cus_1/wallets/main/alerts"
    body = {
        "alert": {
            "alert_type": "wallet_balance_amount",
            "code": "low",
            "name": "Low balance",
            "thresholds": [{"value": 5000, "code": "half"}, {"value": 1000, "code": "low"}],
        }
    }
    created = (await ok(client, tenant_a, "POST", base, body))["alert"]
    assert created["direction"] == "decreasing"
    assert created["previous_value"] == "10000.0"  # starts from the balance it watches
    assert created["lago_wallet_id"] == lago_wallet["wallet"]["lago_id"]
    assert created["wallet_code"] == "main"
    assert created["external_subscription_id"] is None
    wrong = await post(
        client, tenant_a, {"alert": {**body["alert"], "alert_type": "current_usage_amount"}}, base
    )
    assert wrong.json()["error_details"] == {"alert_type": ["invalid_type"]}
    credits = {"alert_type": "wallet_credits_balance", "code": "c", "thresholds": [{"value": 3}]}
    await ok(client, tenant_a, "POST", base, {"alerts": [credits]})
    assert [a["code"] for a in (await ok(client, tenant_a, "GET", base))["alerts"]] == ["low", "c"]
    renamed = await ok(client, tenant_a, "PUT", base + "/c", {"alert": {"name": "Credits"}})
    assert renamed["alert"]["name"] == "Credits"
    assert (await ok(client, tenant_a, "DELETE", base + "/c"))["alert"]["code"] == "c"
    await ok(client, tenant_a, "DELETE", base)
    assert (await ok(client, tenant_a, "GET", base))["alerts"] == []
    unknown = await client.get(
        "/api/v1/customers/cus_1/wallets/nope/alerts", headers=tenant_a.headers
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "wallet_not_found")
