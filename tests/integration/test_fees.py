"""/api/v1/fees through the unmodified lago-python-client: list (with filters), find,
update a non-invoiced fee's payment status; another organization sees none of it."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.fee import Fee as FeeInput
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import Fee
from tests.integration.test_payments import insert_customer, insert_invoice
from tests.support.auth import Tenant


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def _fee(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    invoice_id: uuid.UUID | None,
    amount: int,
    transaction_id: str | None = None,
) -> uuid.UUID:
    async with transaction(sessions) as session:
        fee = Fee(
            organization_id=tenant.organization_id,
            invoice_id=invoice_id,
            fee_type="charge" if transaction_id else "add_on",
            description="Fee",
            item_code="calls" if transaction_id else "setup",
            amount_cents=amount,
            precise_amount_cents=Decimal(amount),
            amount_currency="USD",
            units=Decimal(1),
            pay_in_advance=transaction_id is not None,
            invoiceable=invoice_id is not None,
            pay_in_advance_event_transaction_id=transaction_id,
            payment_status=None if invoice_id else "pending",
        )
        session.add(fee)
        await session.flush()
        return fee.id


async def test_lago_client_lists_finds_and_updates_fees(
    live_api: str, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    customer_id = await insert_customer(sessions, tenant_a, "acme")
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, total=500)
    invoiced = await _fee(sessions, tenant_a, invoice_id, 500)
    standalone = await _fee(sessions, tenant_a, None, 20, "tx_1")

    listed = await call(lago.fees.find_all)
    assert sorted(f.amount_cents for f in listed["fees"]) == [20, 500]
    assert listed["meta"]["total_count"] == 2
    by_event = await call(lago.fees.find_all, {"event_transaction_id": "tx_1"})
    [fee] = by_event["fees"]
    assert (fee.lago_id, fee.lago_invoice_id, fee.payment_status) == (
        str(standalone),
        None,
        "pending",
    )
    assert (fee.pay_in_advance, fee.invoiceable, fee.event_transaction_id) == (True, False, "tx_1")
    by_customer = await call(lago.fees.find_all, {"external_customer_id": "acme"})
    assert [f.lago_id for f in by_customer["fees"]] == [str(invoiced)]
    pending = await call(lago.fees.find_all, {"payment_status": "pending"})
    assert len(pending["fees"]) == 2

    found = await call(lago.fees.find, str(invoiced))
    assert (found.lago_invoice_id, found.external_customer_id) == (str(invoice_id), "acme")

    paid = await call(lago.fees.update, FeeInput(payment_status="succeeded"), str(standalone))
    assert paid.payment_status == "succeeded"
    assert paid.succeeded_at is not None
    assert len((await call(lago.fees.find_all, {"payment_status": "succeeded"}))["fees"]) == 1

    with pytest.raises(LagoApiError) as invoiced_fee:  # follows its invoice
        await call(lago.fees.update, FeeInput(payment_status="succeeded"), str(invoiced))
    assert invoiced_fee.value.status_code == 405
    with pytest.raises(LagoApiError) as missing:
        await call(lago.fees.find, str(uuid.uuid4()))
    assert missing.value.status_code == 404


async def test_bad_filters_and_statuses_get_lagos_422(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    response = await client.get("/api/v1/fees?fee_type=nope", headers=tenant_a.headers)
    assert response.status_code == 422
    assert response.json()["error_details"] == {"fee_type": ["value_is_invalid"]}
    fee_id = await _fee(sessions, tenant_a, None, 20, "tx_1")
    response = await client.put(
        f"/api/v1/fees/{fee_id}", json={"fee": {"payment_status": "paid"}}, headers=tenant_a.headers
    )
    assert response.status_code == 422
    assert response.json()["error_details"] == {"payment_status": ["value_is_invalid"]}


async def test_another_organization_sees_no_fee(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    fee_id = await _fee(sessions, tenant_a, None, 20, "tx_1")
    listed = await client.get("/api/v1/fees", headers=tenant_b.headers)
    assert (listed.status_code, listed.json()["fees"]) == (200, [])
    assert (await client.get(f"/api/v1/fees/{fee_id}", headers=tenant_b.headers)).status_code == 404
    update = await client.put(
        f"/api/v1/fees/{fee_id}",
        json={"fee": {"payment_status": "succeeded"}},
        headers=tenant_b.headers,
    )
    assert update.status_code == 404
    mine = await client.get(f"/api/v1/fees/{fee_id}", headers=tenant_a.headers)
    assert mine.json()["fee"]["payment_status"] == "pending"
