"""What a billing entity does to its customers' invoices and credit notes: their number,
taxes, payment term, PDF issuer, `billing_entity_code`, and the lists' entity filters."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from bxb.models import BillingEntity, Invoice
from tests.integration.test_billing_entities import Sessions, create_entity, ok
from tests.integration.test_invoice_pdf import pdf_text
from tests.support.auth import Tenant


async def _one_off(client: httpx.AsyncClient, tenant: Tenant, customer: str) -> dict[str, Any]:
    body = {
        "invoice": {
            "external_customer_id": customer,
            "currency": "EUR",
            "fees": [{"add_on_code": "setup", "units": 1}],
        }
    }
    invoice: dict[str, Any] = (await ok(client, tenant, "POST", "/api/v1/invoices", body))[
        "invoice"
    ]
    return invoice


async def test_invoices_take_number_taxes_and_terms_from_the_entity(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: Sessions
) -> None:
    await create_entity(client, tenant_a)
    org = (await ok(client, tenant_a, "GET", "/api/v1/organizations"))["organization"]
    default = (await ok(client, tenant_a, "GET", "/api/v1/billing_entities"))["billing_entities"][0]
    # The organization's default tax (10 %) is the default entity's; acme_eu has its own (20 %).
    for code, rate, on_org in (("std", "10", True), ("tva", "20", False)):
        tax = {"name": code, "code": code, "rate": rate, "applied_to_organization": on_org}
        await ok(client, tenant_a, "POST", "/api/v1/taxes", {"tax": tax})
    shown = await ok(client, tenant_a, "GET", f"/api/v1/billing_entities/{default['code']}")
    assert [t["code"] for t in shown["billing_entity"]["taxes"]] == ["std"]
    await ok(
        client,
        tenant_a,
        "PUT",
        "/api/v1/billing_entities/acme_eu",
        {"billing_entity": {"tax_codes": ["tva"]}},
    )
    add_on = {"name": "Setup", "code": "setup", "amount_cents": 10000, "amount_currency": "EUR"}
    await ok(client, tenant_a, "POST", "/api/v1/add_ons", {"add_on": add_on})
    placements: list[tuple[str, str | None]] = [("home", None), ("paris", "acme_eu")]
    for external_id, entity_code in placements:
        customer = {
            "external_id": external_id,
            "currency": "EUR",
            "billing_entity_code": entity_code,
        }
        await ok(client, tenant_a, "POST", "/api/v1/customers", {"customer": customer})

    first_home = await _one_off(client, tenant_a, "home")
    first_paris = await _one_off(client, tenant_a, "paris")
    second_paris = await _one_off(client, tenant_a, "paris")
    second_home = await _one_off(client, tenant_a, "home")

    prefix = org["document_number_prefix"]
    assert [(i["number"], i["sequential_id"]) for i in (first_home, second_home)] == [
        (f"{prefix}-000001", 1),
        (f"{prefix}-000002", 2),
    ]
    assert [(i["number"], i["sequential_id"]) for i in (first_paris, second_paris)] == [
        ("EU-000001", 1),
        ("EU-000002", 2),
    ]
    assert first_home["billing_entity_code"] == default["code"]
    assert first_paris["billing_entity_code"] == "acme_eu"
    assert first_paris["customer"]["billing_entity_code"] == "acme_eu"
    assert [(t["tax_code"], t["amount_cents"]) for t in first_home["applied_taxes"]] == [
        ("std", 1000)
    ]
    assert [(t["tax_code"], t["amount_cents"]) for t in first_paris["applied_taxes"]] == [
        ("tva", 2000)
    ]
    assert (first_home["total_amount_cents"], first_paris["total_amount_cents"]) == (11000, 12000)
    # Payment term: the customer's, else its entity's (acme_eu: 30 days; default: 0).
    assert (first_home["net_payment_term"], first_paris["net_payment_term"]) == (0, 30)
    # The PDF names the issuing entity, its address and footer.
    pdf = await client.get(
        f"/api/v1/invoices/{first_paris['lago_id']}/download", headers=tenant_a.headers
    )
    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    assert all(part in text for part in ("Acme Europe SAS", "1 rue de Rivoli", "Merci"))
    # Lago's billing_entity_codes[] filters of the invoice and customer lists.
    query = "billing_entity_codes[]=acme_eu"
    listed = await ok(client, tenant_a, "GET", f"/api/v1/invoices?{query}")
    assert sorted(i["number"] for i in listed["invoices"]) == ["EU-000001", "EU-000002"]
    listed = await ok(client, tenant_a, "GET", f"/api/v1/customers?{query}")
    assert [c["external_id"] for c in listed["customers"]] == ["paris"]
    both = f"{query}&billing_entity_codes[]={default['code']}"
    listed = await ok(client, tenant_a, "GET", f"/api/v1/invoices?{both}")
    assert len(listed["invoices"]) == 4
    # A credit note shows, and is filtered by, the entity of the invoice it credits.
    note_body = {
        "credit_note": {
            "invoice_id": first_paris["lago_id"],
            "reason": "other",
            "credit_amount_cents": 6000,
            "items": [{"fee_id": first_paris["fees"][0]["lago_id"], "amount_cents": 5000}],
        }
    }
    note = (await ok(client, tenant_a, "POST", "/api/v1/credit_notes", note_body))["credit_note"]
    assert (note["billing_entity_code"], note["number"]) == ("acme_eu", "EU-000001-CN1")
    listed = await ok(client, tenant_a, "GET", f"/api/v1/credit_notes?{query}")
    assert [n["lago_id"] for n in listed["credit_notes"]] == [note["lago_id"]]
    listed = await ok(
        client, tenant_a, "GET", f"/api/v1/credit_notes?billing_entity_codes[]={default['code']}"
    )
    assert listed["credit_notes"] == []
    for path in ("/api/v1/invoices", "/api/v1/customers", "/api/v1/credit_notes"):
        response = await client.get(
            f"{path}?{query}&billing_entity_codes[]=nope", headers=tenant_a.headers
        )
        assert response.status_code == 404
        assert response.json()["code"] == "billing_entity_not_found"
    async with sessions() as session:
        rows = (await session.scalars(select(Invoice).where(Invoice.number == "EU-000001"))).all()
        entity = await session.scalar(select(BillingEntity).where(BillingEntity.code == "acme_eu"))
    assert entity is not None
    assert [row.billing_entity_id for row in rows] == [entity.id]
