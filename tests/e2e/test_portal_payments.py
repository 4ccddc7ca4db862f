"""Pay now and wallet top-ups from the portal, against the worker, Temporal and localstripe:
the rows and the amounts they leave, and nothing charged twice or on another customer."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Invoice, Payment, Wallet
from tests.integration.test_payments import insert_invoice
from tests.support.auth import Tenant
from tests.support.billing import Billing, attempt_statuses, invoices_of
from tests.support.portal import bearer, create_customer, portal_token
from tests.support.stripe_cards import (
    DECLINING_CARD,
    GOOD_CARD,
    add_card,
    charges_of,
    stripe_customer,
)
from tests.support.webhook_receiver import WebhookReceiver


async def _stripe_customer(
    client: httpx.AsyncClient, tenant: Tenant, external_id: str, localstripe_url: str, card: str
) -> tuple[uuid.UUID, str]:
    """A bxb customer paying with a Stripe customer at localstripe: (bxb id, Stripe id)."""
    holder = await stripe_customer(localstripe_url, card)
    billing = {"payment_provider": "stripe", "provider_customer_id": holder}
    row = await create_customer(client, tenant, external_id, billing_configuration=billing)
    return uuid.UUID(row["lago_id"]), holder


async def _pay(client: httpx.AsyncClient, token: str, invoice_id: uuid.UUID) -> dict[str, Any]:
    response = await client.post(f"/api/v1/portal/invoices/{invoice_id}/pay", headers=bearer(token))
    assert response.status_code == 200, response.text
    invoice: dict[str, Any] = response.json()["invoice"]
    return invoice


async def _invoice(sessions: async_sessionmaker[AsyncSession], invoice_id: uuid.UUID) -> Invoice:
    async with sessions() as session:
        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        return invoice


async def _succeeded_charges(localstripe_url: str, holder: str) -> list[int]:
    return [c.amount for c in await charges_of(localstripe_url, holder) if c.status == "succeeded"]


async def test_pay_now_charges_a_one_off_invoice_once(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
) -> None:
    a_id, a_holder = await _stripe_customer(stack, tenant_a, "cust-a", localstripe_url, GOOD_CARD)
    b_id, b_holder = await _stripe_customer(stack, tenant_a, "cust-b", localstripe_url, GOOD_CARD)
    # Finalized invoices whose collection nobody started: only pay now starts one.
    a_invoice = await insert_invoice(sessions, tenant_a, a_id, total=1200)
    b_invoice = await insert_invoice(sessions, tenant_a, b_id, total=3000)
    token = await portal_token(stack, tenant_a, "cust-a")

    # Two clicks at once, then one more after it was paid.
    answers = await asyncio.gather(_pay(stack, token, a_invoice), _pay(stack, token, a_invoice))
    assert any(answer["payment_status"] == "succeeded" for answer in answers)
    again = await _pay(stack, token, a_invoice)
    assert (again["payment_status"], again["total_due_amount_cents"]) == ("succeeded", 0)

    assert await attempt_statuses(sessions, a_invoice) == ["succeeded"]
    async with sessions() as session:
        [payment] = (await session.scalars(select(Payment))).all()
    assert (payment.invoice_id, payment.amount_cents, payment.attempt) == (a_invoice, 1200, 1)
    paid = await _invoice(sessions, a_invoice)
    assert (paid.payment_status, paid.total_paid_amount_cents) == ("succeeded", 1200)
    assert await _succeeded_charges(localstripe_url, a_holder) == [1200]
    # B's invoice: untouched, nothing charged.
    assert await attempt_statuses(sessions, b_invoice) == []
    assert (await _invoice(sessions, b_invoice)).payment_status == "pending"
    assert await charges_of(localstripe_url, b_holder) == []
    # A's token cannot pay B's invoice.
    refused = await stack.post(f"/api/v1/portal/invoices/{b_invoice}/pay", headers=bearer(token))
    assert refused.status_code == 404
    assert await attempt_statuses(sessions, b_invoice) == []


async def test_pay_now_after_a_decline_makes_a_new_attempt(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
) -> None:
    a_id, holder = await _stripe_customer(
        stack, tenant_a, "cust-a", localstripe_url, DECLINING_CARD
    )
    invoice_id = await insert_invoice(sessions, tenant_a, a_id, total=2450)
    token = await portal_token(stack, tenant_a, "cust-a")
    declined = await _pay(stack, token, invoice_id)
    assert declined["payment_status"] == "failed"
    assert await attempt_statuses(sessions, invoice_id) == ["failed"]
    await add_card(localstripe_url, holder, GOOD_CARD, default=True)
    paid = await _pay(stack, token, invoice_id)
    assert paid["payment_status"] == "succeeded"
    assert await attempt_statuses(sessions, invoice_id) == ["failed", "succeeded"]
    assert await _succeeded_charges(localstripe_url, holder) == [2450]


async def test_pay_now_of_a_subscription_invoice_goes_through_its_workflow(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, DECLINING_CARD)
    [invoice] = await invoices_of(sessions)
    assert await attempt_statuses(sessions, invoice.id) == ["failed"]
    await add_card(localstripe_url, billing.stripe_customer, GOOD_CARD, default=True)
    token = await portal_token(stack, tenant_a, "cus_1")
    answer = await _pay(stack, token, invoice.id)
    assert answer["payment_status"] == "succeeded"
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "succeeded"]
    [paid] = await invoices_of(sessions)
    assert (paid.payment_status, paid.total_paid_amount_cents) == (
        "succeeded",
        invoice.total_amount_cents,
    )
    assert await _succeeded_charges(localstripe_url, billing.stripe_customer) == [
        invoice.total_amount_cents
    ]
    # Paid: another click starts nothing.
    await _pay(stack, token, invoice.id)
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "succeeded"]


async def _wallet_of(sessions: async_sessionmaker[AsyncSession], customer_id: uuid.UUID) -> Wallet:
    async with sessions() as session:
        wallet = await session.scalar(
            select(Wallet)
            .where(Wallet.customer_id == customer_id)
            .execution_options(populate_existing=True)
        )
        assert wallet is not None
        return wallet


async def test_top_up_bills_a_credit_invoice_and_credits_the_wallet_once_paid(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
) -> None:
    a_id, holder = await _stripe_customer(stack, tenant_a, "cust-a", localstripe_url, GOOD_CARD)
    b_id, _ = await _stripe_customer(stack, tenant_a, "cust-b", localstripe_url, GOOD_CARD)
    for customer, granted in (("cust-a", "2"), ("cust-b", "5")):
        body = {
            "external_customer_id": customer,
            "rate_amount": "1",
            "currency": "USD",
            "granted_credits": granted,
        }
        created = await stack.post(
            "/api/v1/wallets", json={"wallet": body}, headers=tenant_a.headers
        )
        assert created.status_code == 200, created.text
    token = await portal_token(stack, tenant_a, "cust-a")

    async def buy(token: str, credits: str) -> dict[str, Any]:
        response = await stack.post(
            "/api/v1/portal/wallet/wallet_transactions",
            json={"wallet_transaction": {"paid_credits": credits}},
            headers=bearer(token) | {"Idempotency-Key": "click-1"},
        )
        assert response.status_code == 200, response.text
        [row] = response.json()["wallet_transactions"]
        assert isinstance(row, dict)
        return row

    # One click sent three times (twice at once): one purchase.
    purchase = await buy(token, "15.5")
    repeats = await asyncio.gather(buy(token, "15.5"), buy(token, "15.5"))
    assert {row["lago_id"] for row in repeats} == {purchase["lago_id"]}
    assert (purchase["status"], purchase["transaction_status"]) == ("pending", "purchased")
    assert (purchase["credit_amount"], purchase["amount_cents"]) == ("15.5", 1550)
    invoice_id = uuid.UUID(purchase["lago_invoice_id"])
    invoice = await _invoice(sessions, invoice_id)
    assert (invoice.customer_id, invoice.invoice_type, invoice.total_amount_cents) == (
        a_id,
        "credit",
        1550,
    )
    # The credit invoice is collected as a wallet top-up is: paid, then credited.
    for _ in range(300):
        if (await _wallet_of(sessions, a_id)).balance_cents == 200 + 1550:
            break
        await asyncio.sleep(0.1)
    wallet = await _wallet_of(sessions, a_id)
    assert (wallet.balance_cents, wallet.credits_balance) == (1750, Decimal("17.5"))
    assert (await _invoice(sessions, invoice_id)).payment_status == "succeeded"
    assert await _succeeded_charges(localstripe_url, holder) == [1550]
    shown = await stack.get("/api/v1/portal/wallet", headers=bearer(token))
    assert (shown.json()["wallet"]["balance_cents"], shown.json()["wallet"]["credits_balance"]) == (
        1750,
        "17.5",
    )
    listed = await stack.get("/api/v1/portal/wallet/wallet_transactions", headers=bearer(token))
    rows = listed.json()["wallet_transactions"]
    assert [(r["transaction_status"], r["status"], r["amount_cents"]) for r in rows] == [
        ("purchased", "settled", 1550),
        ("granted", "settled", 200),
    ]
    invoices = await stack.get("/api/v1/portal/invoices", headers=bearer(token))
    assert [i["lago_id"] for i in invoices.json()["invoices"]] == [str(invoice_id)]
    async with sessions() as session:
        credit_invoices = (
            await session.scalars(select(Invoice).where(Invoice.invoice_type == "credit"))
        ).all()
    assert [(i.customer_id, i.total_amount_cents) for i in credit_invoices] == [(a_id, 1550)]
    # B's wallet: as it was. B's key space is its own: the same key buys for B.
    other = await _wallet_of(sessions, b_id)
    assert other.balance_cents == 500
    b_purchase = await buy(await portal_token(stack, tenant_a, "cust-b"), "3")
    assert b_purchase["lago_id"] != purchase["lago_id"]
    assert b_purchase["amount_cents"] == 300
