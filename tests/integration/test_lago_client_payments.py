"""The unmodified lago-python-client on payments: create (manual), find, find_all."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.payment import Payment
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.integration.test_payments import insert_customer, insert_invoice, invoice_row
from tests.support.auth import Tenant


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_lago_client_records_finds_and_lists_manual_payments(
    live_api: str, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    customer_id = await insert_customer(sessions, tenant_a, "acme")
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, total=5000)

    first = await call(
        lago.payments.create,
        Payment(invoice_id=str(invoice_id), amount_cents=2000, reference="wire-1", paid_at=None),
    )
    assert (first.amount_cents, first.amount_currency, first.type) == (2000, "USD", "manual")
    assert (first.payment_status, first.reference) == ("succeeded", "wire-1")
    assert first.invoice_ids == [str(invoice_id)]
    second = await call(
        lago.payments.create,
        Payment(
            invoice_id=str(invoice_id), amount_cents=3000, reference="wire-2", paid_at="2026-03-05"
        ),
    )
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", 5000)

    found = await call(lago.payments.find, second.lago_id)
    assert (found.lago_id, found.amount_cents) == (second.lago_id, 3000)
    listed = await call(lago.payments.find_all, {"external_customer_id": "acme"})
    assert sorted(p.amount_cents for p in listed["payments"]) == [2000, 3000]
    assert listed["meta"]["total_count"] == 2
    by_invoice = await call(lago.payments.find_all, {"invoice_id": str(invoice_id)})
    assert len(by_invoice["payments"]) == 2

    with pytest.raises(LagoApiError) as too_much:
        await call(
            lago.payments.create,
            Payment(invoice_id=str(invoice_id), amount_cents=1, reference="late", paid_at=None),
        )
    assert too_much.value.status_code == 422
    with pytest.raises(LagoApiError) as missing:
        await call(lago.payments.find, "00000000-0000-0000-0000-000000000000")
    assert missing.value.status_code == 404
