"""Writing instant fees (pay-in-advance charges, issue 10): one transaction per fee.

- invoiceable charge: the fee and an invoice of its own (Lago's `subscription` invoice
  with the invoicing reason `in_advance_charge`), composed like any subscription invoice
  (coupons, taxes), finalized at once (credit notes and wallet credits applied) and handed
  to the subscription's workflow to collect;
- non-invoiceable charge: the fee alone, taxed, with its own payment status (`pending`
  until the API is told otherwise, `PUT /fees/{lago_id}`).

Both send `fee.created` (and the invoice `invoice.created`) through the outbox, in the
fee's transaction. The fee is unique on (charge, event transaction id): written twice, it
is written once (the second transaction finds it and does nothing).

At period end, paid non-invoiceable fees of charges with `regroup_paid_fees: invoice` are
put on one `advance_charges` invoice, already paid (`regroup_paid_fees`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.billing.instant_fees import InstantFee
from bxb.billing.invoice import FeeDraft, assemble_invoice
from bxb.billing.periods import local_day
from bxb.billing.taxes import TaxableFee, compute_fee_tax
from bxb.core.db import transaction
from bxb.core.tax_book import TaxBook
from bxb.ledger.finalizing import finalize
from bxb.ledger.invoicing import FeeLine, Invoicing, new_invoice
from bxb.ledger.notifications import fee_events, invoice_event
from bxb.ledger.numbering import assign_number
from bxb.models import Customer, DeletedFee, Fee, Invoice, Organization
from bxb.models.base import utcnow
from bxb.payments.collect import has_payment_provider
from bxb.workflows.billing_requests import BillingRequest, BillingResult, UsageWindow
from bxb.workflows.state import ChargeSnapshot, PlanSnapshot

# Invoice.kind of an instant fee's invoice, and of the regrouped paid fees' invoice.
ADVANCE_CHARGE = "advance_charge"
ADVANCE_CHARGES = "advance_charges"


@dataclass(frozen=True)
class Subject:
    """Whose fees: one subscription segment and the window of its current charges."""

    organization_id: uuid.UUID
    customer_id: uuid.UUID
    external_customer_id: str
    external_id: str
    subscription_id: uuid.UUID
    timezone: str
    currency: str
    plan: PlanSnapshot
    window_start: datetime
    window_end: datetime


@dataclass(frozen=True)
class Written:
    result: BillingResult | None  # the invoice the workflow collects, if any
    webhooks: list[uuid.UUID]


async def billed_transactions(
    sessions: async_sessionmaker[AsyncSession], subject: Subject, charge_id: uuid.UUID
) -> set[str]:
    """Transaction ids of the events of the window already billed in advance (a fee
    deleted through the API leaves its event billed: `delete_fee`)."""
    async with sessions() as session:
        rows = await session.scalars(
            select(Fee.pay_in_advance_event_transaction_id)
            .where(
                Fee.subscription_id == subject.subscription_id,
                Fee.charge_id == charge_id,
                Fee.pay_in_advance,
                Fee.from_datetime >= subject.window_start,
            )
            .union_all(
                select(DeletedFee.pay_in_advance_event_transaction_id).where(
                    DeletedFee.subscription_id == subject.subscription_id,
                    DeletedFee.charge_id == charge_id,
                    DeletedFee.from_datetime >= subject.window_start,
                )
            )
        )
        return {r for r in rows if r is not None}


async def delete_fee(session: AsyncSession, fee: Fee) -> None:
    """Delete a fee on no invoice (DELETE /fees/{lago_id}, Lago's `Fees::DestroyService`).

    The row goes, so the revenue rollup triggers take it back; a tombstone keeps its event
    counted as billed in advance, so the usage reaction never bills that event again (and
    later events are priced after it, as if the fee were still there)."""
    session.add(
        DeletedFee(
            organization_id=fee.organization_id,
            fee_id=fee.id,
            subscription_id=fee.subscription_id,
            charge_id=fee.charge_id,
            pay_in_advance_event_transaction_id=fee.pay_in_advance_event_transaction_id,
            from_datetime=fee.from_datetime,
        )
    )
    await session.delete(fee)
    await session.flush()


async def write_standalone_fees(
    sessions: async_sessionmaker[AsyncSession],
    subject: Subject,
    charge: ChargeSnapshot,
    computed: list[InstantFee],
) -> list[uuid.UUID]:
    """Fees of a non-invoiceable charge: taxed, payment pending, no invoice; all the
    events of one reaction in one statement (`ON CONFLICT DO NOTHING` on the event: each
    fee written once). Returns the fee.created webhooks to dispatch."""
    if not computed:
        return []
    async with transaction(sessions) as session:
        taxes = await TaxBook.load(
            session, subject.organization_id, subject.customer_id, [subject.plan]
        )
        applicable = taxes.for_charge(charge.id, subject.plan.code)
        now = utcnow()
        rows = []
        for one in computed:
            fee = fee_row(subject, charge, one)
            tax = compute_fee_tax(TaxableFee("fee", fee.amount_cents, applicable))
            fee.taxes_amount_cents, fee.taxes_rate = tax.taxes_amount_cents, tax.taxes_rate
            fee.taxes_precise_amount_cents = tax.precise_taxes_amount_cents
            fee.payment_status = "pending"
            fee.position = 0
            fee.created_at = fee.updated_at = now
            rows.append({c: getattr(fee, c) for c in _FEE_COLUMNS})
        statement = (
            pg_insert(Fee)
            .values(rows)
            .on_conflict_do_nothing(
                index_elements=[
                    "organization_id",
                    "charge_id",
                    "pay_in_advance_event_transaction_id",
                ],
                index_where=Fee.pay_in_advance_event_transaction_id.is_not(None),
            )
            .returning(Fee.id)
        )
        written = list(await session.scalars(statement))
        if not written:
            return []
        fees = list(await session.scalars(select(Fee).where(Fee.id.in_(written))))
        return await fee_events(session, fees)


_FEE_COLUMNS = [column.key for column in Fee.__table__.columns]


async def write_instant_fee(
    sessions: async_sessionmaker[AsyncSession],
    invoicing: Invoicing,
    subject: Subject,
    charge: ChargeSnapshot,
    computed: InstantFee,
    at: datetime,
) -> Written:
    """The fee of one event of an invoiceable charge and its invoice, once."""
    async with transaction(sessions) as session:
        exists = await session.scalar(
            select(Fee.id).where(
                Fee.organization_id == subject.organization_id,
                Fee.charge_id == charge.id,
                Fee.pay_in_advance_event_transaction_id == computed.transaction_id,
            )
        )
        if exists is not None:
            return Written(None, [])
        fee = fee_row(subject, charge, computed)
        invoice = await _invoice(session, invoicing, subject, fee, at)
        webhooks = await invoice_event(session, invoice, "invoice.created")
        webhooks += await fee_events(session, [fee])
        result = BillingResult(
            invoice_id=invoice.id,
            total_amount_cents=invoice.total_amount_cents,
            invoice_status=invoice.status,
            payment_status=invoice.payment_status,
            collectable=await has_payment_provider(session, invoice.customer_id),
        )
        return Written(result, webhooks)


def fee_row(subject: Subject, charge: ChargeSnapshot, computed: InstantFee) -> Fee:
    """The unsaved fee row of one computed instant fee (also what an estimate shows)."""
    name = charge.invoice_display_name or charge.billable_metric.name
    charge_filter = None if computed.bucket is None else charge.filters[computed.bucket]
    if charge_filter is not None:
        label = charge_filter.invoice_display_name or ", ".join(
            f"{k}: {'/'.join(v)}" for k, v in sorted(charge_filter.values.items())
        )
        name = f"{name} — {label}"
    return Fee(
        id=uuid.uuid4(),
        organization_id=subject.organization_id,
        subscription_id=subject.subscription_id,
        charge_id=charge.id,
        charge_filter_id=charge_filter.id if charge_filter else None,
        fee_type="charge",
        description=name,
        item_code=charge.billable_metric.code,
        amount_cents=computed.amount_cents,
        precise_amount_cents=computed.precise_amount_minor,
        amount_currency=subject.currency,
        coupons_amount_cents=0,
        precise_coupons_amount_cents=Decimal(0),
        taxes_amount_cents=0,
        taxes_precise_amount_cents=Decimal(0),
        taxes_rate=Decimal(0),
        units=computed.units,
        events_count=1,
        from_datetime=subject.window_start,
        to_datetime=subject.window_end,
        amount_details={},
        pay_in_advance=True,
        invoiceable=charge.invoiceable,
        pay_in_advance_event_transaction_id=computed.transaction_id,
    )


def _request(subject: Subject, kind: str, at: datetime) -> BillingRequest:
    return BillingRequest(
        kind=kind,
        at=at,
        organization_id=subject.organization_id,
        customer_id=subject.customer_id,
        external_customer_id=subject.external_customer_id,
        external_id=subject.external_id,
        timezone=subject.timezone,
        currency=subject.currency,
        invoice_segment_id=subject.subscription_id,
        invoice_period_start=subject.window_start,
        invoice_period_end=subject.window_end,
        # Only for the tax book: the plan whose taxes the fee falls back on.
        usage=[
            UsageWindow(
                segment_id=subject.subscription_id,
                plan=subject.plan,
                from_datetime=subject.window_start,
                to_datetime=subject.window_end,
            )
        ],
    )


async def _invoice(
    session: AsyncSession, invoicing: Invoicing, subject: Subject, fee: Fee, at: datetime
) -> Invoice:
    """The fee's own invoice, composed (coupons, taxes) and finalized at once."""
    request = _request(subject, ADVANCE_CHARGE, at)
    invoice = new_invoice(request)
    # One invoice per event: the period's unique key does not apply (a null end).
    invoice.period_start, invoice.period_end = at, None
    draft = FeeDraft("instant", fee.amount_cents, (), subject.plan.code, fee.item_code)
    await invoicing.compose(session, request, [[FeeLine(draft, fee)]], invoice, final=True)
    session.add(invoice)
    await session.flush()
    await finalize(session, invoice, at)
    await session.flush()
    return invoice


async def regroup_paid_fees(
    sessions: async_sessionmaker[AsyncSession], subject: Subject, at: datetime
) -> Written:
    """Paid non-invoiceable fees of the window (charges with regroup_paid_fees=invoice) on
    one `advance_charges` invoice, paid already; once per window (the period's unique key)."""
    regrouped = [
        c.id for c in subject.plan.charges if c.pay_in_advance and c.regroup_paid_fees == "invoice"
    ]
    if not regrouped:
        return Written(None, [])
    async with transaction(sessions) as session:
        fees = list(
            await session.scalars(
                select(Fee)
                .where(
                    Fee.subscription_id == subject.subscription_id,
                    Fee.charge_id.in_(regrouped),
                    Fee.pay_in_advance,
                    Fee.invoice_id.is_(None),
                    Fee.payment_status == "succeeded",
                    Fee.from_datetime >= subject.window_start,
                    Fee.from_datetime < subject.window_end,
                )
                .order_by(Fee.created_at, Fee.id)
                .with_for_update()
            )
        )
        if not fees:
            return Written(None, [])
        request = _request(subject, ADVANCE_CHARGES, at)
        invoice = new_invoice(request)
        invoice.invoice_type = ADVANCE_CHARGES
        invoice.issuing_date = local_day(at, ZoneInfo(subject.timezone))
        assembled = assemble_invoice(
            [FeeDraft(str(f.id), f.amount_cents) for f in fees],
            [],
            credit_cents=0,
            currency=subject.currency,
            at=at,
        )
        invoice.fees_amount_cents = assembled.fees_amount_cents
        invoice.taxes_amount_cents = sum(f.taxes_amount_cents for f in fees)
        invoice.total_amount_cents = invoice.fees_amount_cents + invoice.taxes_amount_cents
        invoice.total_paid_amount_cents = invoice.total_amount_cents
        organization = await session.get(Organization, subject.organization_id)
        assert organization is not None
        customer = await session.get(Customer, invoice.customer_id)
        invoice.billing_entity_id = customer.billing_entity_id if customer else None
        invoice.sequential_id, invoice.number = await assign_number(
            session, organization, invoice.billing_entity_id
        )
        invoice.status, invoice.finalized_at, invoice.payment_status = "finalized", at, "succeeded"
        invoice.payment_due_date = invoice.issuing_date
        for position, fee in enumerate(fees):
            fee.position = position
            invoice.fees.append(fee)
        session.add(invoice)
        await session.flush()
        return Written(None, await invoice_event(session, invoice, "invoice.created"))
