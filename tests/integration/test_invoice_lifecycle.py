"""DELETE /invoices/{id} (a draft), lose_dispute, retry, and DELETE /fees/{id}: Lago's
answers and refusals, the ledger left consistent, organization isolation, the client."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.core.subscriptions import plan_snapshot
from bxb.core.temporal import TemporalConnector
from bxb.ledger.instant_fees import Subject, billed_transactions
from bxb.models import (
    DeletedFee,
    Fee,
    Invoice,
    Plan,
    RevenueFeeDaily,
    Subscription,
    Webhook,
    WebhookEndpoint,
)
from bxb.webhooks import outbox
from tests.integration.test_payments import insert_customer, insert_invoice, invoice_row
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors
from tests.support.plan_catalog import catalog, subscription_on

NOT_ALLOWED = {"status": 405, "error": "Method Not Allowed"}


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


async def _standalone_fee(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    amount: int,
    transaction_id: str,
    invoice_id: uuid.UUID | None = None,
) -> uuid.UUID:
    async with transaction(sessions) as session:
        fee = Fee(
            organization_id=tenant.organization_id,
            invoice_id=invoice_id,
            fee_type="charge",
            description="Calls",
            item_code="calls",
            amount_cents=amount,
            precise_amount_cents=Decimal(amount),
            amount_currency="USD",
            units=Decimal(1),
            pay_in_advance=True,
            invoiceable=invoice_id is not None,
            pay_in_advance_event_transaction_id=transaction_id,
            payment_status=None if invoice_id else "pending",
        )
        session.add(fee)
        await session.flush()
        return fee.id


@pytest.fixture
def webhooks_sent(monkeypatch: pytest.MonkeyPatch) -> list[list[uuid.UUID]]:
    dispatched: list[list[uuid.UUID]] = []

    async def fake_client(self: TemporalConnector) -> object:
        return object()

    async def record(_: object, ids: list[uuid.UUID]) -> None:
        dispatched.append(list(ids))

    monkeypatch.setattr(TemporalConnector, "client", fake_client)
    monkeypatch.setattr(outbox, "dispatch", record)
    return dispatched


async def _listen(sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> None:
    async with transaction(sessions) as session:
        session.add(
            WebhookEndpoint(organization_id=tenant.organization_id, webhook_url="http://x.test")
        )


async def _webhook_types(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return sorted(await session.scalars(select(Webhook.webhook_type)))


async def test_a_draft_is_deleted_and_disappears(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    webhooks_sent: list[list[uuid.UUID]],
) -> None:
    await _listen(sessions, tenant_a)
    customer_id = await insert_customer(sessions, tenant_a)
    draft = await insert_invoice(sessions, tenant_a, customer_id, total=700, status="draft")
    await _standalone_fee(sessions, tenant_a, 700, "tx_draft", invoice_id=draft)
    finalized = await insert_invoice(sessions, tenant_a, customer_id)

    shown = (await client.get(f"/api/v1/invoices/{draft}", headers=tenant_a.headers)).json()
    response = await client.delete(f"/api/v1/invoices/{draft}", headers=tenant_a.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    # The invoice object as GET shows it (a draft's shape is the conformance test's).
    assert lago_errors("Invoice", body) == lago_errors("Invoice", shown)
    assert body["invoice"]["number"] == shown["invoice"]["number"]
    assert (body["invoice"]["lago_id"], body["invoice"]["status"]) == (str(draft), "deleted")
    assert (await invoice_row(sessions, draft)).status == "deleted"  # its billing key kept
    assert await _webhook_types(sessions) == ["invoice.deleted"]
    assert len(webhooks_sent) == 1

    # Gone: not found, not listed, its fees neither.
    again = await client.get(f"/api/v1/invoices/{draft}", headers=tenant_a.headers)
    assert (again.status_code, again.json()["code"]) == (404, "invoice_not_found")
    listed = (await client.get("/api/v1/invoices", headers=tenant_a.headers)).json()
    assert [i["lago_id"] for i in listed["invoices"]] == [str(finalized)]
    fees = (await client.get("/api/v1/fees", headers=tenant_a.headers)).json()
    assert fees["fees"] == []
    deleted_twice = await client.delete(f"/api/v1/invoices/{draft}", headers=tenant_a.headers)
    assert deleted_twice.status_code == 404

    refused = await client.delete(f"/api/v1/invoices/{finalized}", headers=tenant_a.headers)
    assert (refused.status_code, refused.json()) == (405, {**NOT_ALLOWED, "code": "not_deletable"})
    assert (await invoice_row(sessions, finalized)).status == "finalized"


async def test_a_lost_dispute_is_dated_once_and_notified(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    webhooks_sent: list[list[uuid.UUID]],
) -> None:
    await _listen(sessions, tenant_a)
    customer_id = await insert_customer(sessions, tenant_a)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id)
    async with transaction(sessions) as session:
        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        invoice.payment_overdue = True
    url = f"/api/v1/invoices/{invoice_id}/lose_dispute"
    shown = (await client.get(f"/api/v1/invoices/{invoice_id}", headers=tenant_a.headers)).json()

    response = await client.post(url, headers=tenant_a.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    # The seeded invoice's own gaps (e.g. no due date) aside, the answer conforms.
    assert set(lago_errors("Invoice", body)) < set(lago_errors("Invoice", shown))
    lost_at = body["invoice"]["payment_dispute_lost_at"]
    assert lost_at is not None
    assert body["invoice"]["payment_overdue"] is False
    row = await invoice_row(sessions, invoice_id)
    assert row.payment_dispute_lost_at is not None
    assert row.payment_overdue is False
    assert await _webhook_types(sessions) == ["invoice.payment_dispute_lost"]

    again = (await client.post(url, headers=tenant_a.headers)).json()
    assert again["invoice"]["payment_dispute_lost_at"] == lost_at  # set once

    draft = await insert_invoice(sessions, tenant_a, customer_id, status="draft")
    refused = await client.post(f"/api/v1/invoices/{draft}/lose_dispute", headers=tenant_a.headers)
    assert (refused.status_code, refused.json()) == (405, {**NOT_ALLOWED, "code": "not_disputable"})
    assert (await invoice_row(sessions, draft)).payment_dispute_lost_at is None
    voided = await insert_invoice(sessions, tenant_a, customer_id, status="voided")
    ok = await client.post(f"/api/v1/invoices/{voided}/lose_dispute", headers=tenant_a.headers)
    assert ok.status_code == 200


async def test_retry_has_no_failed_invoice_to_retry(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    for status in ("draft", "finalized", "voided"):
        invoice_id = await insert_invoice(sessions, tenant_a, customer_id, status=status)
        response = await client.post(
            f"/api/v1/invoices/{invoice_id}/retry", headers=tenant_a.headers
        )
        assert (response.status_code, response.json()) == (
            405,
            {**NOT_ALLOWED, "code": "invalid_status"},
        )
        assert (await invoice_row(sessions, invoice_id)).status == status


async def _rolled_up(sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> tuple[int, int]:
    async with sessions() as session:
        row = (
            await session.execute(
                select(
                    func.coalesce(func.sum(RevenueFeeDaily.fees_count), 0),
                    func.coalesce(func.sum(RevenueFeeDaily.amount_cents), 0),
                ).where(RevenueFeeDaily.organization_id == tenant.organization_id)
            )
        ).one()
        return int(row[0]), int(row[1])


async def test_a_fee_on_no_invoice_is_deleted_and_its_event_stays_billed(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    fee_id = await _standalone_fee(sessions, tenant_a, 2050, "tx_1")
    kept = await _standalone_fee(sessions, tenant_a, 300, "tx_2")
    assert await _rolled_up(sessions, tenant_a) == (2, 2350)

    shown = (await client.get(f"/api/v1/fees/{fee_id}", headers=tenant_a.headers)).json()
    response = await client.delete(f"/api/v1/fees/{fee_id}", headers=tenant_a.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == shown  # the fee as it was (a seeded fee without a charge: its gaps)
    assert lago_errors("Fee", body) == lago_errors("Fee", shown)
    assert (body["fee"]["lago_id"], body["fee"]["amount_cents"]) == (str(fee_id), 2050)
    assert await _rolled_up(sessions, tenant_a) == (1, 300)  # the rollups took it back
    async with sessions() as session:
        assert await session.get(Fee, fee_id) is None
        [tombstone] = list(await session.scalars(select(DeletedFee)))
    assert (tombstone.fee_id, tombstone.pay_in_advance_event_transaction_id) == (fee_id, "tx_1")
    gone = await client.get(f"/api/v1/fees/{fee_id}", headers=tenant_a.headers)
    assert (gone.status_code, gone.json()["code"]) == (404, "fee_not_found")
    listed = (await client.get("/api/v1/fees", headers=tenant_a.headers)).json()
    assert [f["lago_id"] for f in listed["fees"]] == [str(kept)]

    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, total=500)
    invoiced = await _standalone_fee(sessions, tenant_a, 500, "tx_3", invoice_id=invoice_id)
    refused = await client.delete(f"/api/v1/fees/{invoiced}", headers=tenant_a.headers)
    assert (refused.status_code, refused.json()) == (405, {**NOT_ALLOWED, "code": "invoiced_fee"})
    async with sessions() as session:
        assert await session.get(Fee, invoiced) is not None


async def test_a_deleted_fees_event_is_never_billed_again(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    """The usage reaction reads billed events from fees and from deleted fees' tombstones."""
    made = await catalog(client, tenant_a)
    plan_id, charge_id = uuid.UUID(made["plan"]["lago_id"]), made["plan"]["charges"][0]["lago_id"]
    await subscription_on(client, sessions, tenant_a, plan_id)
    async with sessions() as session:
        row = await session.scalar(select(Subscription))
        plan = await session.get(Plan, plan_id)
        assert row is not None
        assert plan is not None
        snapshot = plan_snapshot(plan)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    subject = Subject(
        organization_id=tenant_a.organization_id,
        customer_id=row.customer_id,
        external_customer_id="cus_9",
        external_id="sub_9",
        subscription_id=row.id,
        timezone="UTC",
        currency="USD",
        plan=snapshot,
        window_start=start,
        window_end=datetime(2026, 2, 1, tzinfo=UTC),
    )
    async with transaction(sessions) as session:
        fee = Fee(
            organization_id=tenant_a.organization_id,
            subscription_id=row.id,
            charge_id=uuid.UUID(charge_id),
            fee_type="charge",
            description="Calls",
            item_code="calls",
            amount_cents=100,
            precise_amount_cents=Decimal(100),
            amount_currency="USD",
            units=Decimal(1),
            pay_in_advance=True,
            invoiceable=False,
            pay_in_advance_event_transaction_id="tx_gone",
            payment_status="pending",
            from_datetime=start,
            to_datetime=subject.window_end,
        )
        session.add(fee)
    assert await billed_transactions(sessions, subject, uuid.UUID(charge_id)) == {"tx_gone"}
    response = await client.delete(f"/api/v1/fees/{fee.id}", headers=tenant_a.headers)
    assert response.status_code == 200
    assert await billed_transactions(sessions, subject, uuid.UUID(charge_id)) == {"tx_gone"}


async def test_another_organization_can_neither_delete_nor_dispute(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    draft = await insert_invoice(sessions, tenant_a, customer_id, status="draft")
    finalized = await insert_invoice(sessions, tenant_a, customer_id)
    fee_id = await _standalone_fee(sessions, tenant_a, 20, "tx_1")
    calls = [
        ("DELETE", f"/api/v1/invoices/{draft}", "invoice_not_found"),
        ("POST", f"/api/v1/invoices/{finalized}/lose_dispute", "invoice_not_found"),
        ("POST", f"/api/v1/invoices/{finalized}/retry", "invoice_not_found"),
        ("DELETE", f"/api/v1/fees/{fee_id}", "fee_not_found"),
        ("DELETE", "/api/v1/invoices/not-a-uuid", "invoice_not_found"),
        ("DELETE", "/api/v1/fees/not-a-uuid", "fee_not_found"),
    ]
    for method, url, code in calls:
        response = await client.request(method, url, headers=tenant_b.headers)
        assert (response.status_code, response.json()["code"]) == (404, code), url
    assert (await invoice_row(sessions, draft)).status == "draft"
    row = await invoice_row(sessions, finalized)
    assert row.payment_dispute_lost_at is None
    async with sessions() as session:
        assert await session.get(Fee, fee_id) is not None


async def test_the_lago_client_deletes_disputes_and_retries(
    live_api: str, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    customer_id = await insert_customer(sessions, tenant_a)
    draft = await insert_invoice(sessions, tenant_a, customer_id, status="draft")
    finalized = await insert_invoice(sessions, tenant_a, customer_id)
    fee_id = await _standalone_fee(sessions, tenant_a, 20, "tx_1")

    deleted = await call(lago.invoices.destroy, str(draft))
    assert (deleted.lago_id, deleted.status) == (str(draft), "deleted")
    disputed = await call(lago.invoices.lose_dispute, str(finalized))
    assert disputed.payment_dispute_lost_at is not None
    with pytest.raises(LagoApiError) as refused:
        await call(lago.invoices.retry, str(finalized))
    assert refused.value.status_code == 405
    fee = await call(lago.fees.destroy, str(fee_id))
    assert (fee.lago_id, fee.amount_cents) == (str(fee_id), 20)
