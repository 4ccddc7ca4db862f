"""Wallet transactions: top-ups, voids, paid credits and their invoice, consumption."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.core.db import transaction
from bxb.ledger import wallets as wallet_ledger
from bxb.ledger.wallet_topups import TopUpRequest, top_up
from bxb.models import Customer, Invoice, Wallet, WalletTransaction, Webhook, WebhookEndpoint
from tests.integration.test_wallets import (
    attach_clock,
    create_customer,
    create_wallet,
    get_wallet,
    set_clock,
)
from tests.support.auth import Tenant

AT = datetime(2030, 5, 1, 12, tzinfo=UTC)


async def post_transaction(
    client: httpx.AsyncClient, tenant: Tenant, wallet_id: str, **fields: Any
) -> httpx.Response:
    body = {"wallet_transaction": {"wallet_id": wallet_id, **fields}}
    return await client.post("/api/v1/wallet_transactions", json=body, headers=tenant.headers)


async def list_transactions(
    client: httpx.AsyncClient, tenant: Tenant, wallet_id: str, **params: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/wallets/{wallet_id}/wallet_transactions", params=params, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["wallet_transactions"]
    return rows


async def insert_invoice(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    total_cents: int,
    *,
    currency: str = "USD",
    invoice_type: str = "subscription",
) -> uuid.UUID:
    """A finalized invoice of the tenant's only customer, as the finalizer leaves it."""
    async with transaction(sessions) as session:
        customer = await session.scalar(
            select(Customer).where(Customer.organization_id == tenant.organization_id)
        )
        assert customer is not None
        invoice = Invoice(
            organization_id=tenant.organization_id,
            customer_id=customer.id,
            invoice_type=invoice_type,
            kind="period_end",
            status="finalized",
            payment_status="pending",
            currency=currency,
            issuing_date=date(2030, 5, 1),
            fees_amount_cents=total_cents,
            total_amount_cents=total_cents,
        )
        session.add(invoice)
        await session.flush()
        return invoice.id


async def apply_credits(
    sessions: async_sessionmaker[AsyncSession], invoice_id: uuid.UUID, at: datetime = AT
) -> tuple[int, int, int]:
    """Run apply_prepaid_credits in its own transaction: (consumed, prepaid, total)."""
    async with transaction(sessions) as session:
        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        consumed = await wallet_ledger.apply_prepaid_credits(session, invoice, at)
        return consumed, invoice.prepaid_credit_amount_cents, invoice.total_amount_cents


async def wallet_row(sessions: async_sessionmaker[AsyncSession]) -> Wallet:
    async with sessions() as session:
        wallet = await session.scalar(select(Wallet).where(Wallet.status == "active"))
    assert wallet is not None
    return wallet


# --- granted and voided credits ---------------------------------------------------------


async def test_grant_and_void_change_the_balance_at_once(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a)
    wallet = await create_wallet(client, tenant_a, rate_amount="2")
    response = await post_transaction(
        client,
        tenant_a,
        wallet["lago_id"],
        granted_credits="10",
        name="Goodwill",
        metadata=[{"key": "reason", "value": "outage"}],
    )
    assert response.status_code == 200, response.text
    (granted,) = response.json()["wallet_transactions"]
    assert granted == {
        "lago_id": granted["lago_id"],
        "lago_wallet_id": wallet["lago_id"],
        "lago_invoice_id": None,
        "lago_credit_note_id": None,
        "lago_voided_invoice_id": None,
        "status": "settled",
        "source": "manual",
        "transaction_status": "granted",
        "transaction_type": "inbound",
        "amount": "20",
        "credit_amount": "10",
        "remaining_amount_cents": 2000,
        "remaining_credit_amount": "10",
        "priority": 50,
        "invoice_requires_successful_payment": False,
        "settled_at": granted["created_at"],
        "failed_at": None,
        "created_at": granted["created_at"],
        "metadata": [{"key": "reason", "value": "outage"}],
        "name": "Goodwill",
        "payment_method": {"payment_method_type": "provider"},
        "purchase_order_number": None,
        "applied_invoice_custom_sections": [],
    }
    response = await post_transaction(client, tenant_a, wallet["lago_id"], voided_credits="2.5")
    (voided,) = response.json()["wallet_transactions"]
    assert (voided["transaction_status"], voided["transaction_type"], voided["amount"]) == (
        "voided",
        "outbound",
        "5",
    )
    current = await get_wallet(client, tenant_a, wallet["lago_id"])
    assert (current["credits_balance"], current["balance_cents"]) == ("7.5", 1500)


async def test_transactions_are_listed_with_filters(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a)
    wallet = await create_wallet(client, tenant_a, granted_credits="10")
    await post_transaction(client, tenant_a, wallet["lago_id"], voided_credits="1")
    everything = await list_transactions(client, tenant_a, wallet["lago_id"])
    assert sorted(t["transaction_status"] for t in everything) == ["granted", "voided"]
    outbound = await list_transactions(
        client, tenant_a, wallet["lago_id"], transaction_type="outbound"
    )
    assert [t["transaction_status"] for t in outbound] == ["voided"]
    granted = await list_transactions(
        client, tenant_a, wallet["lago_id"], transaction_status="granted", status="settled"
    )
    assert [t["credit_amount"] for t in granted] == ["10"]
    assert await list_transactions(client, tenant_a, wallet["lago_id"], status="pending") == []
    one = await client.get(
        f"/api/v1/wallet_transactions/{granted[0]['lago_id']}", headers=tenant_a.headers
    )
    assert one.json()["wallet_transaction"] == granted[0]
    bad = await client.get(
        f"/api/v1/wallets/{wallet['lago_id']}/wallet_transactions",
        params={"transaction_type": "sideways"},
        headers=tenant_a.headers,
    )
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({"granted_credits": "-1"}, {"granted_credits": ["invalid_granted_credits"]}),
        ({"voided_credits": "x"}, {"voided_credits": ["invalid_voided_credits"]}),
        ({"voided_credits": "10.00001"}, {"voided_credits": ["insufficient_credits"]}),
        ({"paid_credits": 1.5e-9}, {"paid_credits": ["invalid_paid_credits"]}),
        ({"metadata": "nope"}, {"metadata": ["invalid_type"]}),
        (
            {"invoice_requires_successful_payment": "yes"},
            {"invoice_requires_successful_payment": ["invalid_type"]},
        ),
    ],
)
async def test_bad_transactions_are_refused(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    fields: dict[str, Any],
    details: dict[str, list[str]],
) -> None:
    await create_customer(client, tenant_a)
    wallet = await create_wallet(client, tenant_a, granted_credits="10")
    response = await post_transaction(client, tenant_a, wallet["lago_id"], **fields)
    assert response.status_code == 422, response.text
    assert response.json()["error_details"] == details
    assert (await get_wallet(client, tenant_a, wallet["lago_id"]))["credits_balance"] == "10"


async def test_transactions_need_a_live_wallet(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await create_customer(client, tenant_a)
    for wallet_id in (str(uuid.uuid4()), "nope"):
        response = await post_transaction(client, tenant_a, wallet_id, granted_credits="1")
        assert response.status_code == 404
        assert response.json()["code"] == "wallet_not_found"
    missing = await client.post(
        "/api/v1/wallet_transactions", json={"wallet_transaction": {}}, headers=tenant_a.headers
    )
    assert missing.json()["error_details"] == {"wallet_id": ["value_is_mandatory"]}
    wallet = await create_wallet(client, tenant_a)
    nothing = await post_transaction(client, tenant_a, wallet["lago_id"], paid_credits=None)
    assert (nothing.status_code, nothing.json()) == (200, {"wallet_transactions": []})
    await client.delete(f"/api/v1/wallets/{wallet['lago_id']}", headers=tenant_a.headers)
    response = await post_transaction(client, tenant_a, wallet["lago_id"], granted_credits="1")
    assert response.status_code == 422
    assert response.json()["error_details"] == {"wallet_id": ["wallet_is_terminated"]}
    unknown = await client.get(
        f"/api/v1/wallet_transactions/{uuid.uuid4()}", headers=tenant_a.headers
    )
    assert unknown.json()["code"] == "wallet_transaction_not_found"


async def test_a_top_up_after_expiry_is_refused_and_expires_the_wallet(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clock = await attach_clock(sessions, tenant_a, datetime(2030, 1, 1, tzinfo=UTC))
    await create_customer(client, tenant_a, test_clock_id=str(clock))
    wallet = await create_wallet(
        client, tenant_a, granted_credits="4", expiration_at="2030-01-10T00:00:00Z"
    )
    await set_clock(sessions, clock, datetime(2030, 1, 10, tzinfo=UTC))
    response = await post_transaction(client, tenant_a, wallet["lago_id"], granted_credits="1")
    assert response.json()["error_details"] == {"wallet_id": ["wallet_is_terminated"]}
    voided = await list_transactions(
        client, tenant_a, wallet["lago_id"], transaction_status="voided"
    )
    assert [(v["credit_amount"], v["created_at"]) for v in voided] == [
        ("4", "2030-01-10T00:00:00Z")
    ]


# --- paid credits ------------------------------------------------------------------------


async def test_paid_credits_bill_a_credit_invoice_and_settle_when_paid(
    temporal_client: httpx.AsyncClient,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    client = temporal_client
    async with transaction(sessions) as session:
        session.add(
            WebhookEndpoint(
                organization_id=tenant_a.organization_id, webhook_url="http://127.0.0.1:9/"
            )
        )
    await create_customer(client, tenant_a, timezone="America/New_York", net_payment_term=15)
    wallet = await create_wallet(client, tenant_a, rate_amount="1.5", paid_credits="20")
    assert (wallet["credits_balance"], wallet["balance_cents"]) == ("0", 0)  # not paid yet
    (purchase,) = await list_transactions(client, tenant_a, wallet["lago_id"])
    assert (purchase["status"], purchase["transaction_status"], purchase["amount"]) == (
        "pending",
        "purchased",
        "30",
    )
    async with sessions() as session:
        invoice = await session.get(Invoice, uuid.UUID(purchase["lago_invoice_id"]))
        assert invoice is not None
        webhook = await session.scalar(select(Webhook))
    assert (invoice.invoice_type, invoice.status, invoice.payment_status) == (
        "credit",
        "finalized",
        "pending",
    )
    assert (invoice.total_amount_cents, invoice.fees_amount_cents, invoice.sequential_id) == (
        3000,
        3000,
        1,
    )
    assert invoice.number is not None
    assert invoice.number.endswith("-000001")
    assert invoice.net_payment_term == 15
    assert invoice.payment_due_date is not None
    assert invoice.issuing_date is not None
    assert (invoice.payment_due_date - invoice.issuing_date).days == 15
    assert [(f.fee_type, f.amount_cents, f.units) for f in invoice.fees] == [
        ("credit", 3000, Decimal(20))
    ]
    # Lago: the top-up's fee names the wallet transaction it bought, not a subscription.
    shown = await client.get(f"/api/v1/invoices/{invoice.id}", headers=tenant_a.headers)
    (fee,) = shown.json()["invoice"]["fees"]
    assert fee["item"] | {"name": None} == {
        "type": "credit",
        "code": "credit",
        "name": None,
        "invoice_display_name": fee["item"]["invoice_display_name"],
        "filter_invoice_display_name": None,
        "filters": None,
        "lago_item_id": purchase["lago_id"],
        "item_type": "WalletTransaction",
        "grouped_by": {},
    }
    assert (fee["pay_in_advance"], fee["invoiceable"]) == (False, True)
    assert webhook is not None
    assert webhook.webhook_type == "invoice.created"
    assert webhook.payload["invoice"]["lago_id"] == str(invoice.id)
    handle = temporal_env.client.get_workflow_handle(f"invoice-payment/{invoice.id}/1")
    assert (await handle.describe()).workflow_type == "InvoicePaymentWorkflow"
    await handle.terminate()  # no worker on this queue: the attempt would wait forever

    # The invoice is paid: the purchase settles and the balance grows, once.
    paid_at = datetime(2030, 6, 1, tzinfo=UTC)
    for _ in range(2):
        async with transaction(sessions) as session:
            row = await session.get(Invoice, invoice.id)
            assert row is not None
            await wallet_ledger.on_invoice_paid(session, row, paid_at)
    current = await get_wallet(client, tenant_a, wallet["lago_id"])
    assert (current["credits_balance"], current["balance_cents"]) == ("20", 3000)
    assert current["last_balance_sync_at"] == "2030-06-01T00:00:00Z"
    (settled,) = await list_transactions(client, tenant_a, wallet["lago_id"])
    assert (settled["status"], settled["settled_at"]) == ("settled", "2030-06-01T00:00:00Z")

    # A top-up invoice is never paid with the wallet's own credits.
    assert await apply_credits(sessions, invoice.id) == (0, 0, 3000)


async def test_paid_top_up_of_a_closed_wallet_is_voided_on_payment(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    await create_wallet(client, tenant_a)
    wallet = await wallet_row(sessions)
    async with transaction(sessions) as session:
        locked = await wallet_ledger.lock_wallet(session, wallet.id)
        customer = await session.get(Customer, wallet.customer_id)
        assert customer is not None
        result = await top_up(session, locked, customer, TopUpRequest(paid_credits=Decimal(5)), AT)
        await wallet_ledger.terminate(session, locked, AT)
    invoice_id = result.invoice_id
    assert invoice_id is not None
    assert result.webhook_ids == []
    async with transaction(sessions) as session:
        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        await wallet_ledger.on_invoice_paid(session, invoice, AT)
    async with sessions() as session:
        rows = (await session.scalars(select(WalletTransaction))).all()
        closed = await session.get(Wallet, wallet.id)
    assert closed is not None
    assert (closed.credits_balance, closed.balance_cents) == (Decimal(0), 0)
    assert sorted((r.transaction_status, r.status, r.amount_cents) for r in rows) == [
        ("purchased", "settled", 500),
        ("voided", "settled", 500),
    ]


async def test_a_voided_top_up_invoice_fails_its_purchase(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    await create_wallet(client, tenant_a)
    wallet = await wallet_row(sessions)
    async with transaction(sessions) as session:
        locked = await wallet_ledger.lock_wallet(session, wallet.id)
        customer = await session.get(Customer, wallet.customer_id)
        assert customer is not None
        result = await top_up(session, locked, customer, TopUpRequest(paid_credits=Decimal(5)), AT)
    for _ in range(2):
        async with transaction(sessions) as session:
            invoice = await session.get(Invoice, result.invoice_id)
            assert invoice is not None
            await wallet_ledger.on_invoice_voided(session, invoice, AT)
            await wallet_ledger.on_invoice_paid(session, invoice, AT)  # too late: stays failed
    async with sessions() as session:
        purchase = await session.scalar(select(WalletTransaction))
    assert purchase is not None
    assert (purchase.status, purchase.failed_at) == ("failed", AT)
    assert (await wallet_row(sessions)).credits_balance == 0


# --- consumption on invoices -------------------------------------------------------------


async def test_credits_cover_part_then_all_of_invoices(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    wallet = await create_wallet(client, tenant_a, rate_amount="0.5", granted_credits="30")
    small = await insert_invoice(sessions, tenant_a, 400)
    assert await apply_credits(sessions, small) == (400, 400, 0)  # fully covered
    large = await insert_invoice(sessions, tenant_a, 2500)
    assert await apply_credits(sessions, large) == (1100, 1100, 1400)  # what was left
    third = await insert_invoice(sessions, tenant_a, 100)
    assert await apply_credits(sessions, third) == (0, 0, 100)  # empty wallet
    current = await get_wallet(client, tenant_a, wallet["lago_id"])
    assert (current["credits_balance"], current["balance_cents"]) == ("0", 0)
    assert (current["consumed_credits"], current["consumed_amount_cents"]) == ("30", 1500)
    assert current["last_consumed_credit_at"] == "2030-05-01T12:00:00Z"
    invoiced = await list_transactions(
        client, tenant_a, wallet["lago_id"], transaction_status="invoiced"
    )
    assert sorted(
        (t["lago_invoice_id"], t["credit_amount"], t["amount"]) for t in invoiced
    ) == sorted([(str(small), "8", "4"), (str(large), "22", "11")])
    assert {t["transaction_type"] for t in invoiced} == {"outbound"}


async def test_consumption_is_idempotent(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    await create_wallet(client, tenant_a, granted_credits="10")
    invoice_id = await insert_invoice(sessions, tenant_a, 300)
    assert await apply_credits(sessions, invoice_id) == (300, 300, 0)
    assert await apply_credits(sessions, invoice_id) == (300, 300, 0)  # nothing changes
    wallet = await wallet_row(sessions)
    assert (wallet.credits_balance, wallet.balance_cents) == (Decimal(7), 700)
    async with sessions() as session:
        count = len((await session.scalars(select(WalletTransaction))).all())
    assert count == 2  # the grant and one consumption


async def test_consumption_skips_other_currencies_and_expired_wallets(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    await create_wallet(
        client, tenant_a, granted_credits="10", expiration_at="2030-05-01T12:00:00Z"
    )
    euros = await insert_invoice(sessions, tenant_a, 300, currency="EUR")
    assert await apply_credits(sessions, euros) == (0, 0, 300)
    dollars = await insert_invoice(sessions, tenant_a, 300)
    before = datetime(2030, 5, 1, 11, tzinfo=UTC)
    assert await apply_credits(sessions, dollars, before) == (300, 300, 0)
    later = await insert_invoice(sessions, tenant_a, 300)
    assert await apply_credits(sessions, later, AT) == (0, 0, 300)  # expired at AT
    async with sessions() as session:
        wallet = await session.scalar(select(Wallet))
    assert wallet is not None
    assert (wallet.status, wallet.terminated_at, wallet.credits_balance) == (
        "terminated",
        AT,
        0,
    )


async def test_concurrent_invoices_queue_on_the_wallet_lock(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    await create_wallet(client, tenant_a, granted_credits="10")
    first = await insert_invoice(sessions, tenant_a, 700)
    second = await insert_invoice(sessions, tenant_a, 700)
    async with sessions() as holder, holder.begin():
        invoice = await holder.get(Invoice, first)
        assert invoice is not None
        assert await wallet_ledger.apply_prepaid_credits(holder, invoice, AT) == 700
        waiting = asyncio.create_task(apply_credits(sessions, second))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # blocked on the wallet row lock
    assert await waiting == (300, 300, 400)  # saw the first consumption: no overdraft
    wallet = await wallet_row(sessions)
    assert (wallet.credits_balance, wallet.balance_cents) == (Decimal(0), 0)


async def test_the_same_invoice_racing_itself_consumes_once(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    await create_wallet(client, tenant_a, granted_credits="10")
    invoice_id = await insert_invoice(sessions, tenant_a, 700)
    async with sessions() as holder, holder.begin():
        invoice = await holder.get(Invoice, invoice_id)
        assert invoice is not None
        assert await wallet_ledger.apply_prepaid_credits(holder, invoice, AT) == 700
        waiting = asyncio.create_task(apply_credits(sessions, invoice_id))
        await asyncio.sleep(0.3)
        assert not waiting.done()
    consumed, _, _ = await waiting
    assert consumed == 700  # found the first consumption once it could look
    wallet = await wallet_row(sessions)
    assert (wallet.credits_balance, wallet.balance_cents) == (Decimal(3), 300)


async def test_a_payment_racing_itself_settles_once(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    await create_wallet(client, tenant_a)
    wallet = await wallet_row(sessions)
    async with transaction(sessions) as session:
        locked = await wallet_ledger.lock_wallet(session, wallet.id)
        customer = await session.get(Customer, wallet.customer_id)
        assert customer is not None
        result = await top_up(session, locked, customer, TopUpRequest(paid_credits=Decimal(5)), AT)

    async def pay() -> None:
        async with transaction(sessions) as session:
            invoice = await session.get(Invoice, result.invoice_id)
            assert invoice is not None
            await wallet_ledger.on_invoice_paid(session, invoice, AT)

    async with sessions() as holder, holder.begin():
        invoice = await holder.get(Invoice, result.invoice_id)
        assert invoice is not None
        await wallet_ledger.on_invoice_paid(holder, invoice, AT)
        await holder.flush()
        waiting = asyncio.create_task(pay())
        await asyncio.sleep(0.3)
        assert not waiting.done()
    await waiting
    assert (await wallet_row(sessions)).balance_cents == 500


async def test_paying_an_ordinary_invoice_touches_no_wallet(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    await create_wallet(client, tenant_a, granted_credits="1")
    invoice_id = await insert_invoice(sessions, tenant_a, 100)
    async with transaction(sessions) as session:
        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        await wallet_ledger.on_invoice_paid(session, invoice, AT)
        await wallet_ledger.on_invoice_voided(session, invoice, AT)
    assert (await wallet_row(sessions)).balance_cents == 100
