"""Driving a Stripe customer's subscription through the API on a test clock (e2e tests)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Invoice, Payment
from tests.support.auth import Tenant
from tests.support.stripe_cards import stripe_customer
from tests.support.webhook_receiver import WebhookReceiver


class Billing:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant, localstripe: str) -> None:
        self.client = client
        self.headers = tenant.headers
        self.localstripe = localstripe
        self.clock = ""
        self.stripe_customer = ""

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.client.request(method, path, json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def setup(
        self,
        receiver: WebhookReceiver,
        card: str,
        plan: dict[str, Any] | None = None,
        **billing: Any,
    ) -> None:
        """A Stripe customer on a test clock subscribed to plan (by default a monthly $10
        plan paid in advance); billing is the organization's billing_configuration."""
        if billing:
            config = {"billing_configuration": billing}
            await self.ok("PUT", "/api/v1/organizations", {"organization": config})
        secret = await self.ok("GET", "/api/v1/webhook_endpoints/signing_secret")
        receiver.secret = secret["webhook_signing_secret"]["secret"]
        endpoint = {"webhook_url": receiver.url, "signature_algo": "hmac"}
        await self.ok("POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})
        clock = await self.ok(
            "POST",
            "/api/v1/test_clocks",
            {"test_clock": {"name": "c", "frozen_time": "2026-03-01T00:00:00Z"}},
        )
        self.clock = clock["test_clock"]["lago_id"]
        self.stripe_customer = await stripe_customer(self.localstripe, card)
        customer = {
            "external_id": "cus_1",
            "currency": "USD",
            "test_clock_id": self.clock,
            "billing_configuration": {
                "payment_provider": "stripe",
                "provider_customer_id": self.stripe_customer,
            },
        }
        await self.ok("POST", "/api/v1/customers", {"customer": customer})
        plan = plan or {
            "name": "Pro",
            "code": "pro",
            "interval": "monthly",
            "amount_cents": 1000,
            "amount_currency": "USD",
            "pay_in_advance": True,
        }
        await self.ok("POST", "/api/v1/plans", {"plan": plan})
        body = {"external_customer_id": "cus_1", "plan_code": plan["code"], "external_id": "sub_1"}
        await self.ok("POST", "/api/v1/subscriptions", {"subscription": body})
        # The subscription answers at once; its first payment follows. Advancing the clock
        # to where it is returns once everything due until then is done.
        await self.advance("2026-03-01T00:00:00Z")

    async def advance(self, to: str) -> None:
        await self.ok(
            "POST",
            f"/api/v1/test_clocks/{self.clock}/advance",
            {"test_clock": {"frozen_time": to}},
        )

    async def subscription_status(self) -> str:
        query = "external_customer_id=cus_1&status[]=active&status[]=terminated"
        [sub] = (await self.ok("GET", f"/api/v1/subscriptions?{query}"))["subscriptions"]
        status: str = sub["status"]
        return status


async def invoices_of(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    """Every invoice, oldest first, read afresh."""
    async with sessions() as session:
        query = select(Invoice).order_by(Invoice.created_at)
        return list(await session.scalars(query.execution_options(populate_existing=True)))


async def attempt_statuses(
    sessions: async_sessionmaker[AsyncSession], invoice_id: uuid.UUID
) -> list[str]:
    """The status of each payment of the invoice, in the order they were made."""
    async with sessions() as session:
        rows = await session.scalars(
            select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.created_at)
        )
        return [row.status for row in rows]
