"""Finalizing invoices: a draft's grace period, refreshing and finalizing drafts, and what
finalizing does (number, payment terms, then credit notes and wallet credits, in Lago's
order)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.billing.periods import local_day
from bxb.core.db import transaction
from bxb.ledger import alert_triggers, credit_notes, notifications, wallets
from bxb.ledger.amounts import amount_due
from bxb.ledger.billing_entities import customer_entity
from bxb.ledger.invoicing import Invoicing, lock_invoice
from bxb.ledger.numbering import assign_number
from bxb.models import BillingEntity, Customer, Invoice, Organization
from bxb.workflows.billing_requests import BillingRequest


async def grace_period_days(session: AsyncSession, customer_id: uuid.UUID) -> int:
    """The customer's grace period, else its billing entity's (Lago's precedence; the
    default entity's is the organization's).

    Loads the rows into the session, where finalizing finds them again.
    """
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    organization = await session.get(Organization, customer.organization_id)
    assert organization is not None
    if customer.invoice_grace_period is not None:
        return customer.invoice_grace_period
    entity = await customer_entity(session, customer)
    return (entity or organization).invoice_grace_period


def net_payment_term(customer: Customer, fallback: Organization | BillingEntity) -> int:
    """Days to pay: the customer's term, else its billing entity's (Lago's precedence)."""
    term = customer.net_payment_term
    return term if term is not None else fallback.net_payment_term


def finalize_at(invoice_at: datetime, grace_days: int) -> datetime:
    return invoice_at + timedelta(days=grace_days)


async def finalize(
    session: AsyncSession, invoice: Invoice, at: datetime, *, written_now: bool = False
) -> list[uuid.UUID]:
    """Number a draft and apply credit notes then wallet credits (Lago's order).

    Returns the alert.triggered webhooks of the wallet it consumed credits from (to
    dispatch once committed).

    The caller holds the invoice row lock and has composed its final amounts.
    `written_now`: the invoice was inserted by this transaction, so no credit can have
    been applied to it before (the idempotency reads are skipped).
    """
    organization = await session.get(Organization, invoice.organization_id)
    assert organization is not None
    customer = await session.get(Customer, invoice.customer_id)
    assert customer is not None
    if invoice.billing_entity_id is None:
        invoice.billing_entity_id = customer.billing_entity_id
    # Numbering does not depend on pending rows: an invoice not flushed yet is then
    # inserted once, numbered, instead of inserted and updated.
    with session.no_autoflush:
        invoice.sequential_id, invoice.number = await assign_number(
            session, organization, invoice.billing_entity_id
        )
    invoice.status = "finalized"
    invoice.finalized_at = at
    invoice.draft_source = None
    entity = (
        await session.get(BillingEntity, invoice.billing_entity_id)
        if invoice.billing_entity_id
        else None
    )
    invoice.net_payment_term = net_payment_term(customer, entity or organization)
    invoice.payment_due_date = invoice.issuing_date + timedelta(days=invoice.net_payment_term)
    await credit_notes.apply_credit_notes(session, invoice, at, written_now=written_now)
    consumed = await wallets.apply_prepaid_credits(session, invoice, at, written_now=written_now)
    if amount_due(invoice) == 0:
        invoice.payment_status = "succeeded"
    if consumed:
        return await alert_triggers.check_customer_wallet(session, invoice.customer_id, at)
    return []


async def refresh_draft(
    sessions: async_sessionmaker[AsyncSession], invoicing: Invoicing, invoice_id: uuid.UUID
) -> bool:
    """Recompute a draft from its request (late events count); False if not a draft."""
    return await _recompute(sessions, invoicing, invoice_id, None) is not None


async def finalize_draft(
    sessions: async_sessionmaker[AsyncSession],
    invoicing: Invoicing,
    invoice_id: uuid.UUID,
    at: datetime,
) -> list[uuid.UUID] | None:
    """Recompute a draft one last time and finalize it; None if it was not a draft.

    Returns the invoice.created webhooks to dispatch once committed.
    """
    return await _recompute(sessions, invoicing, invoice_id, at)


async def _recompute(
    sessions: async_sessionmaker[AsyncSession],
    invoicing: Invoicing,
    invoice_id: uuid.UUID,
    finalizing_at: datetime | None,
) -> list[uuid.UUID] | None:
    async with sessions() as session:
        source = await session.scalar(select(Invoice.draft_source).where(Invoice.id == invoice_id))
    if source is None:
        return None
    request = BillingRequest.model_validate(source)
    usage = await invoicing.usage_lines(request)  # outside the transaction, as when billed
    async with transaction(sessions) as session:
        invoice = await lock_invoice(session, invoice_id)
        if invoice is None or invoice.status != "draft":
            return None
        final = finalizing_at is not None
        webhooks = await invoicing.compose(session, request, usage, invoice, final=final)
        if finalizing_at is None:
            return webhooks
        invoice.issuing_date = local_day(finalizing_at, ZoneInfo(request.timezone))
        webhooks += await finalize(session, invoice, finalizing_at)
        return webhooks + await notifications.invoice_event(session, invoice, "invoice.created")
