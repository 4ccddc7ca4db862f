"""Wallet balance alerts fire when the balance falls to or below a threshold, once per fall:
voided credits, credits consumed by an invoice, and rearmed by a top-up."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.ledger.finalizing import finalize
from bxb.models import Customer, Fee, Invoice, Webhook
from tests.support.alerts import ok
from tests.support.auth import Tenant

ALERTS = "/api/v1/customers/cus_1/wallets/main/alerts"


async def triggered(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Webhook)
            .where(Webhook.webhook_type == "alert.triggered")
            .order_by(Webhook.created_at)
        )
        return [row.payload["triggered_alert"] for row in rows]


def summary(alert: dict[str, Any]) -> tuple[str, str, list[str]]:
    values = [t["value"] for t in alert["crossed_thresholds"]]
    return alert["previous_value"], alert["current_value"], values


async def transact(
    client: httpx.AsyncClient, tenant: Tenant, wallet_id: str, **credits: str
) -> None:
    body = {"wallet_transaction": {"wallet_id": wallet_id, **credits}}
    await ok(client, tenant, "POST", "/api/v1/wallet_transactions", body)


async def consume(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, cents: int
) -> list[Any]:
    """An invoice of `cents` finalized: it takes the wallet's credits first."""
    async with transaction(sessions) as session:
        customer = await session.scalar(select(Customer).where(Customer.external_id == "cus_1"))
        assert customer is not None
        invoice = Invoice(
            organization_id=tenant.organization_id,
            customer_id=customer.id,
            invoice_type="one_off",
            kind="one_off",
            status="draft",
            currency="USD",
            issuing_date=date(2026, 3, 1),
            fees_amount_cents=cents,
            total_amount_cents=cents,
            fees=[
                Fee(
                    organization_id=tenant.organization_id,
                    fee_type="add_on",
                    description="Setup",
                    item_code="setup",
                    amount_cents=cents,
                    precise_amount_cents=Decimal(cents),
                    amount_currency="USD",
                )
            ],
        )
        session.add(invoice)
        await session.flush()
        ids = await finalize(session, invoice, datetime(2026, 3, 2, tzinfo=UTC))
        assert invoice.prepaid_credit_amount_cents == min(
            cents, invoice.prepaid_credit_amount_cents
        )
        return ids


async def test_balance_alerts_fire_once_per_fall(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    customer = {"external_id": "cus_1", "currency": "USD"}
    await ok(client, tenant_a, "POST", "/api/v1/customers", {"customer": customer})
    endpoint = {"webhook_url": "http://127.0.0.1:9/hooks", "signature_algo": "hmac"}
    await ok(client, tenant_a, "POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})
    wallet = {
        "external_customer_id": "cus_1",
        "rate_amount": "2",  # a credit is worth $2
        "currency": "USD",
        "code": "main",
        "granted_credits": "50",  # $100
    }
    wallet_id = (await ok(client, tenant_a, "POST", "/api/v1/wallets", {"wallet": wallet}))[
        "wallet"
    ]["lago_id"]
    await ok(
        client,
        tenant_a,
        "POST",
        ALERTS,
        {
            "alerts": [
                {
                    "alert_type": "wallet_balance_amount",
                    "code": "low",
                    "thresholds": [{"value": 5000, "code": "half"}, {"value": 1000, "code": "low"}],
                },
                {
                    "alert_type": "wallet_credits_balance",
                    "code": "credits",
                    "thresholds": [{"value": "10.5"}],
                },
            ]
        },
    )

    await transact(client, tenant_a, wallet_id, voided_credits="30")  # $40 left: 20 credits
    (first,) = await triggered(sessions)
    assert summary(first) == ("10000.0", "4000.0", ["5000.0"])
    assert first["alert_type"] == "wallet_balance_amount"
    assert first["lago_wallet_id"] == wallet_id
    assert first["external_customer_id"] == "cus_1"
    assert first["external_subscription_id"] is None
    assert first["lago_subscription_id"] is None

    await transact(client, tenant_a, wallet_id, voided_credits="1")  # $38: still below
    assert len(await triggered(sessions)) == 1

    # A top-up above the threshold rearms it; the next fall fires it again.
    await transact(client, tenant_a, wallet_id, granted_credits="10")  # $58
    await transact(client, tenant_a, wallet_id, voided_credits="5")  # $48
    assert [summary(a) for a in (await triggered(sessions))[1:]] == [
        ("5800.0", "4800.0", ["5000.0"])
    ]

    # An invoice of $40 takes 20 credits: $8 and 4 credits left.
    ids = await consume(sessions, tenant_a, 4000)
    assert len(ids) == 2
    last = (await triggered(sessions))[-2:]
    assert sorted(summary(a) for a in last) == [
        ("24.0", "4.0", ["10.5"]),
        ("4800.0", "800.0", ["1000.0"]),
    ]
    shown = (await ok(client, tenant_a, "GET", ALERTS + "/low"))["alert"]
    assert shown["previous_value"] == "800.0"
    assert shown["last_processed_at"] == "2026-03-02T00:00:00Z"
