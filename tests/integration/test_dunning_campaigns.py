"""/api/v1/dunning_campaigns, per-customer assignment, and the campaign sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.ledger.dunning_campaigns import OverduePaymentRequest, run_dunning_campaigns
from bxb.models import ActivityLog, Customer, Webhook, WebhookEndpoint
from tests.integration.test_invoices import insert_customer, insert_invoice
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors

URL = "/api/v1/dunning_campaigns"
Sessions = async_sessionmaker[AsyncSession]


def campaign(**overrides: Any) -> dict[str, Any]:
    return {
        "dunning_campaign": {
            "code": "standard",
            "name": "Standard",
            "description": "Every three days, twice",
            "applied_to_organization": True,
            "days_between_attempts": 3,
            "max_attempts": 2,
            "bcc_emails": ["billing@example.com"],
            "thresholds": [
                {"amount_cents": 10_000, "currency": "EUR"},
                {"amount_cents": 5_000, "currency": "USD"},
            ],
        }
        | overrides
    }


async def create(client: httpx.AsyncClient, tenant: Tenant, **overrides: Any) -> httpx.Response:
    return await client.post(URL, json=campaign(**overrides), headers=tenant.headers)


async def test_crud(client: httpx.AsyncClient, tenant_a: Tenant, sessions: Sessions) -> None:
    created = await create(client, tenant_a)
    assert created.status_code == 200, created.text
    body = created.json()["dunning_campaign"]
    assert body == {
        "lago_id": body["lago_id"],
        "code": "standard",
        "name": "Standard",
        "description": "Every three days, twice",
        "applied_to_organization": True,
        "days_between_attempts": 3,
        "max_attempts": 2,
        "bcc_emails": ["billing@example.com"],
        "thresholds": [
            {
                "lago_id": body["thresholds"][0]["lago_id"],
                "amount_cents": 10_000,
                "currency": "EUR",
            },
            {"lago_id": body["thresholds"][1]["lago_id"], "amount_cents": 5_000, "currency": "USD"},
        ],
        "customers_count": 0,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    # A second default takes the role from the first.
    second = await create(
        client,
        tenant_a,
        code="soft",
        name="Soft",
        thresholds=[{"amount_cents": 0, "currency": "EUR"}],
    )
    assert second.json()["dunning_campaign"]["applied_to_organization"] is True
    first = await client.get(f"{URL}/standard", headers=tenant_a.headers)
    assert first.json()["dunning_campaign"]["applied_to_organization"] is False

    updated = await client.put(
        f"{URL}/standard",
        json={
            "dunning_campaign": {
                "max_attempts": 5,
                "thresholds": [{"amount_cents": 200, "currency": "EUR"}],
            }
        },
        headers=tenant_a.headers,
    )
    assert updated.status_code == 200
    changed = updated.json()["dunning_campaign"]
    assert changed["max_attempts"] == 5
    # The EUR threshold keeps its row; USD is gone.
    assert changed["thresholds"] == [
        {"lago_id": body["thresholds"][0]["lago_id"], "amount_cents": 200, "currency": "EUR"}
    ]
    listed = await client.get(URL, params={"per_page": 1}, headers=tenant_a.headers)
    assert [c["code"] for c in listed.json()["dunning_campaigns"]] == ["soft"]
    assert listed.json()["meta"]["total_count"] == 2

    deleted = await client.delete(f"{URL}/soft", headers=tenant_a.headers)
    assert deleted.status_code == 200
    assert deleted.json()["dunning_campaign"]["code"] == "soft"
    assert (await client.get(f"{URL}/soft", headers=tenant_a.headers)).json() == {
        "status": 404,
        "error": "Not Found",
        "code": "dunning_campaign_not_found",
    }
    # The code is free again; writes are audited.
    assert (
        await create(client, tenant_a, code="soft", applied_to_organization=False)
    ).status_code == 200
    async with sessions() as session:
        types = set(
            await session.scalars(
                select(ActivityLog.activity_type).where(
                    ActivityLog.organization_id == tenant_a.organization_id
                )
            )
        )
    assert {
        "dunning_campaign.created",
        "dunning_campaign.updated",
        "dunning_campaign.deleted",
    } <= types


@pytest.mark.parametrize(
    ("overrides", "details"),
    [
        ({"thresholds": []}, {"thresholds": ["value_is_invalid"]}),
        ({"days_between_attempts": 0}, {"days_between_attempts": ["value_is_invalid"]}),
        ({"max_attempts": None}, {"max_attempts": ["value_is_mandatory"]}),
        ({"code": "  "}, {"code": ["value_is_mandatory"]}),
        ({"bcc_emails": ["not an email"]}, {"bcc_emails.0": ["invalid_email_format"]}),
        (
            {
                "thresholds": [
                    {"amount_cents": 1, "currency": "EUR"},
                    {"amount_cents": 2, "currency": "EUR"},
                ]
            },
            {"thresholds.1.currency": ["value_already_exist"]},
        ),
        (
            {"thresholds": [{"amount_cents": -1, "currency": "XYZ"}]},
            {
                "thresholds.0.amount_cents": ["value_is_invalid"],
                "thresholds.0.currency": ["value_is_invalid"],
            },
        ),
    ],
)
async def test_bad_input(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    overrides: dict[str, Any],
    details: dict[str, list[str]],
) -> None:
    answer = await create(client, tenant_a, **overrides)
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_errors"
    assert answer.json()["error_details"] == details
    assert (await client.get(URL, headers=tenant_a.headers)).json()["dunning_campaigns"] == []


async def test_code_taken_and_bad_update(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await create(client, tenant_a)
    taken = await create(client, tenant_a, applied_to_organization=False)
    assert taken.status_code == 422
    assert taken.json()["error_details"] == {"code": ["value_already_exist"]}
    bad = await client.put(
        f"{URL}/standard",
        json={"dunning_campaign": {"max_attempts": -2, "name": "X"}},
        headers=tenant_a.headers,
    )
    assert bad.status_code == 422
    assert bad.json()["error_details"] == {"max_attempts": ["value_is_invalid"]}
    shown = (await client.get(f"{URL}/standard", headers=tenant_a.headers)).json()[
        "dunning_campaign"
    ]
    assert (shown["name"], shown["max_attempts"]) == ("Standard", 2)


async def test_isolation(client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant) -> None:
    await create(client, tenant_a)
    for method, path in [
        ("GET", f"{URL}/standard"),
        ("PUT", f"{URL}/standard"),
        ("DELETE", f"{URL}/standard"),
    ]:
        answer = await client.request(
            method, path, json={"dunning_campaign": {"name": "stolen"}}, headers=tenant_b.headers
        )
        assert answer.status_code == 404, (method, answer.text)
        assert answer.json()["code"] == "dunning_campaign_not_found"
    assert (await client.get(URL, headers=tenant_b.headers)).json()["dunning_campaigns"] == []
    # Nor can B assign A's campaign to its customers; B may use the same code.
    assigned = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "b1", "applied_dunning_campaign_code": "standard"}},
        headers=tenant_b.headers,
    )
    assert assigned.status_code == 404
    assert (await create(client, tenant_b)).status_code == 200
    shown = (await client.get(f"{URL}/standard", headers=tenant_a.headers)).json()[
        "dunning_campaign"
    ]
    assert shown["name"] == "Standard"


async def test_customer_assignment(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await create(client, tenant_a)
    await create(client, tenant_a, code="vip", name="VIP", applied_to_organization=False)
    customer = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "c1", "applied_dunning_campaign_code": "vip"}},
        headers=tenant_a.headers,
    )
    assert customer.status_code == 200
    body = customer.json()
    # The dunning fields add to Lago's Customer shape without breaking it (its other
    # departures are the conformance test's).
    assert [e for e in lago_errors("Customer", body) if "dunning" in e] == []
    assert body["customer"]["applied_dunning_campaign_code"] == "vip"
    assert body["customer"]["exclude_from_dunning_campaign"] is False
    await client.post(
        "/api/v1/customers", json={"customer": {"external_id": "c2"}}, headers=tenant_a.headers
    )
    await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "c3", "exclude_from_dunning_campaign": True}},
        headers=tenant_a.headers,
    )
    counts = {
        c["code"]: c["customers_count"]
        for c in (await client.get(URL, headers=tenant_a.headers)).json()["dunning_campaigns"]
    }
    assert counts == {"standard": 1, "vip": 1}  # c2 follows the default; c3 is excluded
    back = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "c1", "applied_dunning_campaign_code": None}},
        headers=tenant_a.headers,
    )
    assert back.json()["customer"]["applied_dunning_campaign_code"] is None
    unknown = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "c1", "applied_dunning_campaign_code": "nope"}},
        headers=tenant_a.headers,
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "dunning_campaign_not_found"


async def test_the_sweep_chases_overdue_balances(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: Sessions
) -> None:
    await create(client, tenant_a)  # default: every 3 days, twice; EUR from 100.00
    async with sessions() as session, session.begin():
        session.add(
            WebhookEndpoint(
                organization_id=tenant_a.organization_id, webhook_url="http://127.0.0.1:9/hook"
            )
        )
    customer_id = await insert_customer(sessions, tenant_a, "cus_d", currency="EUR")
    small = await insert_invoice(
        sessions,
        tenant_a,
        customer_id,
        currency="EUR",
        total_amount_cents=6_000,
        payment_overdue=True,
    )
    other = await insert_invoice(
        sessions,
        tenant_a,
        customer_id,
        currency="EUR",
        total_amount_cents=5_000,
        total_paid_amount_cents=1_000,
        payment_overdue=True,
    )
    await insert_invoice(  # not overdue yet: not part of the balance
        sessions, tenant_a, customer_id, currency="EUR", total_amount_cents=9_999
    )
    await insert_invoice(  # USD below its 50.00 threshold
        sessions,
        tenant_a,
        customer_id,
        currency="USD",
        total_amount_cents=4_000,
        payment_overdue=True,
    )
    requests: list[OverduePaymentRequest] = []

    async def request(r: OverduePaymentRequest) -> None:
        requests.append(r)

    start = datetime(2026, 5, 1, tzinfo=UTC)
    assert await run_dunning_campaigns(sessions, request, now=start) == (1, [])
    (first,) = requests
    assert (first.currency, first.amount_cents, first.attempt) == ("EUR", 10_000, 1)
    assert set(first.invoice_ids) == {small, other}
    assert first.dunning_campaign_code == "standard"
    # Again the same day, or three days later to the second: too early.
    assert await run_dunning_campaigns(sessions, request, now=start + timedelta(hours=1)) == (0, [])
    assert await run_dunning_campaigns(sessions, request, now=start + timedelta(days=3)) == (0, [])
    made, webhooks = await run_dunning_campaigns(
        sessions, request, now=start + timedelta(days=3, hours=1)
    )
    assert made == 1  # the second and last attempt: finished
    assert len(webhooks) == 1
    assert requests[1].attempt == 2
    assert await run_dunning_campaigns(sessions, request, now=start + timedelta(days=30)) == (0, [])
    async with sessions() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        assert customer.dunning_currency_attempts == {"EUR": 2}
        assert customer.last_dunning_campaign_attempt == 2
        assert customer.last_dunning_campaign_attempt_at == start + timedelta(days=3, hours=1)
        webhook = await session.get(Webhook, webhooks[0])
        assert webhook is not None
        assert webhook.webhook_type == "dunning_campaign.finished"
        payload = webhook.payload
        assert payload["object_type"] == "dunning_campaign"
        assert payload["dunning_campaign"] == {
            "external_customer_id": "cus_d",
            "dunning_campaign_code": "standard",
            "overdue_balance_cents": 10_000,
            "overdue_balance_currency": "EUR",
            "overdue_balances": [
                {"currency": "EUR", "amount_cents": 10_000},
                {"currency": "USD", "amount_cents": 4_000},
            ],
            "customer_external_id": "cus_d",
        }
        assert lago_errors("DunningCampaignFinishedObject", payload["dunning_campaign"]) == []
        # Other organizations' customers were never looked at.
        count = await session.scalar(select(func.count()).select_from(Webhook))
        assert count == 1


async def test_excluded_and_assigned_customers(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: Sessions
) -> None:
    await create(client, tenant_a)
    await create(
        client,
        tenant_a,
        code="strict",
        name="Strict",
        applied_to_organization=False,
        thresholds=[{"amount_cents": 1, "currency": "EUR"}],
    )
    excluded = await insert_customer(sessions, tenant_a, "ex", exclude_from_dunning_campaign=True)
    await insert_invoice(
        sessions,
        tenant_a,
        excluded,
        currency="EUR",
        total_amount_cents=50_000,
        payment_overdue=True,
    )
    strict = await insert_customer(sessions, tenant_a, "st", sequential_id=2)
    await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "st", "applied_dunning_campaign_code": "strict"}},
        headers=tenant_a.headers,
    )
    await insert_invoice(
        sessions, tenant_a, strict, currency="EUR", total_amount_cents=50, payment_overdue=True
    )
    requests: list[OverduePaymentRequest] = []

    async def request(r: OverduePaymentRequest) -> None:
        requests.append(r)

    await run_dunning_campaigns(sessions, request, now=datetime(2026, 5, 1, tzinfo=UTC))
    # Only the assigned customer, by its own campaign's 0.01 € threshold.
    assert [
        (r.external_customer_id, r.dunning_campaign_code, r.amount_cents) for r in requests
    ] == [("st", "strict", 50)]
