"""The unmodified lago-python-client on invoices: create (one-off), find, find_all with
filters, update, download, preview."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.add_on import AddOn
from lago_python_client.models.customer import Customer
from lago_python_client.models.invoice import (
    Invoice,
    InvoiceFee,
    InvoiceFeesList,
    InvoiceMetadata,
    InvoiceMetadataList,
    InvoicePreview,
    OneOffInvoice,
)
from lago_python_client.models.plan import Plan
from lago_python_client.models.tax import Tax

from tests.integration.test_invoice_pdf import pdf_text
from tests.support.auth import Tenant


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_lago_client_on_invoices(live_api: str, tenant_a: Tenant) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    await call(lago.taxes.create, Tax(name="VAT", code="vat", rate=20.0))
    await call(
        lago.add_ons.create,
        AddOn(
            name="Setup", code="setup", amount_cents=1000, amount_currency="EUR", tax_codes=["vat"]
        ),
    )
    await call(lago.customers.create, Customer(external_id="cus_1", name="Acme", currency="EUR"))

    fees = [InvoiceFee(add_on_code="setup", units=2.5), InvoiceFee(add_on_code="setup")]
    created = await call(
        lago.invoices.create,
        OneOffInvoice(
            external_customer_id="cus_1",
            currency="EUR",
            fees=InvoiceFeesList(__root__=fees),
        ),
    )
    assert (created.invoice_type, created.status, created.payment_status) == (
        "one_off",
        "finalized",
        "pending",
    )
    assert (created.fees_amount_cents, created.taxes_amount_cents) == (3500, 700)
    assert (created.total_amount_cents, created.total_due_amount_cents) == (4200, 4200)
    assert [f.amount_cents for f in created.fees.__root__] == [2500, 1000]
    assert created.fees.__root__[0].item.code == "setup"
    assert created.customer.external_id == "cus_1"

    found = await call(lago.invoices.find, created.lago_id)
    assert (found.number, found.total_amount_cents) == (created.number, 4200)
    assert found.applied_taxes.__root__[0].tax_code == "vat"

    listed = await call(
        lago.invoices.find_all,
        {"external_customer_id": "cus_1", "status": "finalized", "currency": "EUR"},
    )
    assert [i.lago_id for i in listed["invoices"]] == [created.lago_id]
    assert listed["meta"]["total_count"] == 1
    assert (await call(lago.invoices.find_all, {"payment_status": "succeeded"}))["invoices"] == []

    metadata = InvoiceMetadataList(__root__=[InvoiceMetadata(key="po", value="PO-42")])
    updated = await call(lago.invoices.update, Invoice(metadata=metadata), created.lago_id)
    assert [(m.key, m.value) for m in updated.metadata.__root__] == [("po", "PO-42")]

    downloaded = await call(lago.invoices.download, created.lago_id)
    assert downloaded.file_url.endswith(f"/api/v1/invoices/{created.lago_id}/download")
    async with httpx.AsyncClient() as http:
        pdf = await http.get(downloaded.file_url, headers=tenant_a.headers)
    text = pdf_text(pdf.content)
    assert "Total due 42.00 EUR" in text
    assert created.number in text

    with pytest.raises(LagoApiError) as missing:
        await call(lago.invoices.find, str(uuid.uuid4()))
    assert missing.value.status_code == 404


async def test_lago_client_preview(live_api: str, tenant_a: Tenant) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    await call(
        lago.plans.create,
        Plan(
            name="Pro",
            code="pro",
            interval="monthly",
            amount_cents=3100,
            amount_currency="USD",
            pay_in_advance=True,
        ),
    )
    await call(lago.customers.create, Customer(external_id="cus_1", currency="USD"))

    invoice = await call(
        lago.invoices.preview,
        InvoicePreview(
            customer=Customer(external_id="cus_1"),
            plan_code="pro",
            subscription_at="2026-01-21T00:00:00Z",
            billing_time="calendar",
        ),
    )

    assert uuid.UUID(invoice.lago_id)  # not stored: a fresh id each time
    assert invoice.issuing_date == "2026-01-21"
    assert invoice.total_amount_cents == 1100  # 11 of January's 31 days
    assert invoice.fees.__root__[0].item.type == "subscription"
