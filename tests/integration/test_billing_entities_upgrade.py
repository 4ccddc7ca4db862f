"""The upgrade to billing entities (0012c): every organization gets a default entity made
from its settings, and its customers and invoices point at it."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bxb.core.db import create_engine
from bxb.core.migrate import upgrade
from tests.integration.test_api_key_upgrade import fresh_database_url

__all__ = ["fresh_database_url"]  # the fixture, used here


async def test_each_organization_gets_its_default_entity(
    fresh_database_url: str, engine: AsyncEngine
) -> None:
    await upgrade(fresh_database_url, "0011g")  # the revision before 0012c
    org_id, customer_id, invoice_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    old = create_engine(fresh_database_url, pool_size=1)
    try:
        async with old.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO organizations (id, name, default_currency, timezone, legal_name,"
                    " country, net_payment_term, document_numbering, document_number_prefix,"
                    " invoice_grace_period, invoice_footer, document_locale,"
                    " finalize_zero_amount_invoice, email_settings, dunning_retry_days,"
                    " dunning_outcome)"
                    " VALUES (:id, 'Hooli Inc.', 'EUR', 'Europe/Paris', 'Hooli SAS', 'FR', 15,"
                    " 'per_organization', 'HOO-0001', 2, 'Thanks', 'fr', false,"
                    " '[\"invoice.finalized\"]', '[1]', 'keep_past_due')"
                ),
                {"id": org_id},
            )
            await conn.execute(
                text(
                    "INSERT INTO customers (id, organization_id, external_id, sequential_id,"
                    " metadata) VALUES (:id, :org, 'cus_1', 1, '[]')"
                ),
                {"id": customer_id, "org": org_id},
            )
            await conn.execute(
                text(
                    "INSERT INTO invoices (id, organization_id, customer_id, invoice_type, kind,"
                    " status, payment_status, currency, issuing_date, fees_amount_cents,"
                    " coupons_amount_cents, taxes_amount_cents, credit_notes_amount_cents,"
                    " prepaid_credit_amount_cents, total_amount_cents, total_paid_amount_cents,"
                    " net_payment_term, applied_taxes, metadata)"
                    " VALUES (:id, :org, :customer, 'one_off', 'one_off', 'finalized',"
                    " 'pending', 'EUR', '2026-01-01', 100, 0, 0, 0, 0, 100, 0, 0, '[]', '[]')"
                ),
                {"id": invoice_id, "org": org_id, "customer": customer_id},
            )
    finally:
        await old.dispose()
    await upgrade(fresh_database_url)
    new = create_engine(fresh_database_url, pool_size=1)
    try:
        async with new.connect() as conn:
            entity = (
                await conn.execute(
                    text(
                        "SELECT id, code, name, is_default, default_currency, timezone,"
                        " legal_name, country, net_payment_term, document_numbering,"
                        " document_number_prefix, invoice_grace_period, invoice_footer,"
                        " document_locale, finalize_zero_amount_invoice, email_settings"
                        " FROM billing_entities WHERE organization_id = :org"
                    ),
                    {"org": org_id},
                )
            ).one()
            customer_entity = await conn.scalar(
                text("SELECT billing_entity_id FROM customers WHERE id = :id"), {"id": customer_id}
            )
            invoice_entity = await conn.scalar(
                text("SELECT billing_entity_id FROM invoices WHERE id = :id"), {"id": invoice_id}
            )
    finally:
        await new.dispose()
    assert tuple(entity) == (
        org_id,
        "hooli_inc",
        "Hooli Inc.",
        True,
        "EUR",
        "Europe/Paris",
        "Hooli SAS",
        "FR",
        15,
        "per_billing_entity",
        "HOO-0001",
        2,
        "Thanks",
        "fr",
        False,
        ["invoice.finalized"],
    )
    assert customer_entity == invoice_entity == org_id
