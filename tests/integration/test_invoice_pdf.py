"""The invoice PDF: a real PDF whose text shows the lines and totals, and its download."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import update

from bxb.core.db import transaction
from bxb.documents.invoice_pdf import pdf_filename, render_invoice_pdf
from bxb.documents.text import latin1, money, percent, units
from bxb.models import Organization
from tests.integration.test_invoices import (
    Sessions,
    insert_customer,
    insert_invoice,
    subscription_scenario,
)
from tests.support.auth import Tenant


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


async def _describe_organization(sessions: Sessions, tenant: Tenant) -> None:
    async with transaction(sessions) as session:
        await session.execute(
            update(Organization)
            .where(Organization.id == tenant.organization_id)
            .values(
                legal_name="Org A Ltd",
                address_line1="1 Main Street",
                city="Paris",
                zipcode="75001",
                country="FR",
                invoice_footer="Thank you \u2014 see you soon",
            )
        )


async def test_pdf_shows_lines_and_exact_totals(
    client: httpx.AsyncClient, sessions: Sessions, tenant_a: Tenant
) -> None:
    await _describe_organization(sessions, tenant_a)
    customer_id = await insert_customer(
        sessions, tenant_a, name="Acme \u2014 Europe \u4e2d", address_line1="9 Rue Verte"
    )
    scenario = await subscription_scenario(
        sessions,
        tenant_a,
        customer_id,
        credit_notes_amount_cents=400,
        prepaid_credit_amount_cents=1000,
        total_amount_cents=13000,
        total_paid_amount_cents=3000,
    )

    response = await client.get(
        f"/api/v1/invoices/{scenario.invoice_id}/download", headers=tenant_a.headers
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="ORG-000007.pdf"'
    text = pdf_text(response.content)
    for expected in (
        "Invoice",
        "ORG-000007",
        "Org A Ltd",
        "1 Main Street",
        "75001 Paris",
        "Acme - Europe ?",
        "9 Rue Verte",
        "2026-04-01",
        "2026-05-01",
        "Pro (2026-03-01 to 2026-04-01)",
        "100.00 USD",
        "API calls - EU calls",
        "2550",
        "25.50 USD",
        "Subtotal 125.50 USD",
        "Coupons -5.50 USD",
        "Subtotal excluding taxes 120.00 USD",
        "VAT (20%) 24.00 USD",
        "Subtotal including taxes 144.00 USD",
        "Credit notes -4.00 USD",
        "Prepaid credits -10.00 USD",
        "Total 130.00 USD",
        "Paid -30.00 USD",
        "Total due 100.00 USD",
        "Thank you - see you soon",
    ):
        assert expected in text, expected
    assert "DRAFT" not in text


async def test_draft_pdf_has_a_watermark_and_no_number(
    client: httpx.AsyncClient, sessions: Sessions, tenant_a: Tenant
) -> None:
    customer_id = await insert_customer(
        sessions, tenant_a, external_id="cus_draft", tax_identification_number="FR123"
    )
    invoice_id = await insert_invoice(
        sessions,
        tenant_a,
        customer_id,
        status="draft",
        currency="JPY",
        fees_amount_cents=1500,
        total_amount_cents=1500,
        fees=[
            {
                "fee_type": "add_on",
                "description": "Setup",
                "item_code": "setup",
                "amount_cents": 1500,
                "units": Decimal("2.5"),
            },
            {
                "fee_type": "credit",
                "description": "Unused days of Pro",
                "item_code": "pro",
                "amount_cents": 700,
                "units": Decimal(7),
            },
        ],
    )

    response = await client.get(f"/api/v1/invoices/{invoice_id}/download", headers=tenant_a.headers)

    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="draft-{invoice_id}.pdf"'
    )
    text = pdf_text(response.content)
    assert "DRAFT" in text
    assert "(assigned when finalized)" in text
    assert "cus_draft" in text  # a customer without a name is named by its external id
    assert "Setup" in text
    assert "Tax ID: FR123" in text
    assert "Unused days" not in text  # credits count in the totals, not as lines
    assert "2.5" in text
    assert "Total due 1,500 JPY" in text
    assert "Taxes 0 JPY" in text


async def test_post_download_gives_the_pdf_address(
    client: httpx.AsyncClient, sessions: Sessions, tenant_a: Tenant
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, number="ORG-000001")

    response = await client.post(
        f"/api/v1/invoices/{invoice_id}/download", headers=tenant_a.headers
    )

    assert response.status_code == 200
    file_url = response.json()["invoice"]["file_url"]
    assert file_url == f"http://bxb.test/api/v1/invoices/{invoice_id}/download"
    pdf = await client.get(file_url, headers=tenant_a.headers)
    assert pdf.status_code == 200
    assert "ORG-000001" in pdf_text(pdf.content)
    fetched = await client.get(f"/api/v1/invoices/{invoice_id}", headers=tenant_a.headers)
    assert fetched.json()["invoice"]["file_url"] is None


def test_long_draft_marks_every_page() -> None:
    fee = {"amount_cents": 100, "units": "1", "item": {"invoice_display_name": "Line"}}
    invoice: dict[str, Any] = {
        "status": "draft",
        "currency": "USD",
        "fees": [fee] * 80,
        "fees_amount_cents": 8000,
        "sub_total_excluding_taxes_amount_cents": 8000,
        "taxes_amount_cents": 0,
        "sub_total_including_taxes_amount_cents": 8000,
        "total_amount_cents": 8000,
        "total_due_amount_cents": 8000,
    }
    reader = PdfReader(io.BytesIO(render_invoice_pdf(invoice, {"name": "Org"})))
    assert len(reader.pages) > 1
    assert all("DRAFT" in page.extract_text() for page in reader.pages)
    assert "Total due 80.00 USD" in reader.pages[-1].extract_text()


def test_render_survives_missing_and_foreign_text() -> None:
    invoice: dict[str, Any] = {
        "number": None,
        "lago_id": None,
        "status": "finalized",
        "currency": "KWD",
        "issuing_date": date(2026, 1, 1).isoformat(),
        "customer": {"firstname": "\u0106ukasz", "lastname": "Nowak \U0001f600"},
        "fees": [{"amount_cents": 1234, "units": None, "item": {}, "description": "x\u2019s"}],
        "fees_amount_cents": 1234,
        "coupons_amount_cents": 0,
        "sub_total_excluding_taxes_amount_cents": 1234,
        "taxes_amount_cents": 0,
        "sub_total_including_taxes_amount_cents": 1234,
        "total_amount_cents": 1234,
        "total_due_amount_cents": 1234,
        "applied_taxes": [{"tax_code": "gst", "tax_rate": 5.5, "amount_cents": 0}],
    }
    text = pdf_text(render_invoice_pdf(invoice, {}))
    assert "Cukasz Nowak ?" in text  # an accent latin-1 lacks is dropped
    assert "x's" in text
    assert "gst (5.5%) 0.000 KWD" in text
    assert "Total due 1.234 KWD" in text
    assert pdf_filename(invoice) == "draft-preview.pdf"


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (123456789, "USD", "1,234,567.89 USD"),
        (-550, "EUR", "-5.50 EUR"),
        (5, "JPY", "5 JPY"),
        (1, "KWD", "0.001 KWD"),
        (250, "XXQ", "2.50 XXQ"),
    ],
)
def test_money_uses_the_currency_exponent(cents: int, currency: str, shown: str) -> None:
    assert money(cents, currency) == shown


def test_text_helpers() -> None:
    assert latin1("caf\u00e9 \u2014 \u201cok\u201d \u20ac5\u2026") == 'caf\u00e9 - "ok" EUR5...'
    assert latin1("\u0103\u4e2d") == "a?"
    assert units("2.500000000000000") == "2.5"
    assert units("100.000") == "100"
    assert units(None) == "0"
    assert percent(20.0) == "20%"
    assert percent("8.25") == "8.25%"
