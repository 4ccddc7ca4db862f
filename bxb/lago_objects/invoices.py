"""Lago's InvoiceObject (extended: fees, subscriptions, credits) from Invoice and Fee rows.

Everything an invoice refers to (customer, subscriptions, plans, charges, add-ons, taxes)
is read in a few queries per page of invoices, not per invoice. Derived totals are plain
integer sums of the stored amounts (minor units), never recomputed from prices.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bxb.lago_objects.coupons import coupon_credits
from bxb.lago_objects.credit_notes import invoice_credits
from bxb.lago_objects.customers import customer_object
from bxb.lago_objects.fees import (
    Refs,
    charge_refs,
    fee_object,
    plan_refs,
    taxed_fee_cents,
    top_ups,
)
from bxb.lago_objects.formats import iso
from bxb.lago_objects.rows import rows_by_id
from bxb.lago_objects.subscriptions import subscription_object
from bxb.lago_objects.taxes import applied_taxes, taxes_by_code
from bxb.lago_objects.usage_thresholds import applied_usage_thresholds, progressive_credits
from bxb.ledger.amounts import amount_due
from bxb.models import (
    AddOn,
    AppliedTax,
    BillingEntity,
    ChargeFilter,
    Customer,
    Fee,
    Invoice,
    Organization,
    Subscription,
)

# Lago's invoice version 4: sub totals exclude prepaid credits and credit notes.
VERSION_NUMBER = 4

# Why a subscription invoice exists (Invoice.kind) in Lago's billing period words.
_INVOICING_REASONS = {
    "start": "subscription_starting",
    "period_end": "subscription_periodic",
    "plan_change": "subscription_periodic",
    "termination": "subscription_terminating",
    "advance_charge": "in_advance_charge",
    "advance_charges": "subscription_periodic",
}
PROGRESSIVE_REASON = "progressive_billing"


async def _load_refs(
    session: AsyncSession,
    invoices: Sequence[Invoice],
    customer: Customer | None,
    subscriptions: Sequence[Subscription],
    *,
    extended: bool,
) -> Refs:
    organization = await session.get(Organization, invoices[0].organization_id)
    assert organization is not None
    refs = Refs(organization)
    if customer is not None:
        refs.customers = {customer.id: customer}
    else:
        refs.customers = await rows_by_id(session, Customer, {i.customer_id for i in invoices})
    refs.customer_taxes = await applied_taxes(session, AppliedTax.customer_id, list(refs.customers))
    codes = {entry["tax_code"] for invoice in invoices for entry in invoice.applied_taxes}
    refs.taxes_by_code = await taxes_by_code(session, organization.id, codes)
    if not extended:
        # The list does not load fees: bases of taxes stored without one, summed in SQL.
        unknown = [
            invoice.id
            for invoice in invoices
            if any("fees_amount_cents" not in entry for entry in invoice.applied_taxes)
        ]
        refs.taxed_fee_cents = await taxed_fee_cents(session, unknown)
        return refs
    fees = [fee for invoice in invoices for fee in invoice.fees]
    subscription_ids = {f.subscription_id for f in fees if f.subscription_id}
    subscription_ids |= {i.subscription_id for i in invoices if i.subscription_id}
    refs.subscriptions = await rows_by_id(session, Subscription, subscription_ids)
    refs.subscriptions |= {row.id: row for row in subscriptions}
    refs.plans = await plan_refs(session, {s.plan_id for s in refs.subscriptions.values()})
    refs.charges = await charge_refs(session, {f.charge_id for f in fees if f.charge_id})
    refs.charge_filters = await rows_by_id(
        session, ChargeFilter, {f.charge_filter_id for f in fees if f.charge_filter_id}
    )
    refs.add_ons = await rows_by_id(session, AddOn, {f.add_on_id for f in fees if f.add_on_id})
    refs.top_ups = await top_ups(session, fees)
    return refs


async def invoice_objects(
    session: AsyncSession,
    invoices: Sequence[Invoice],
    *,
    customer: Customer | None = None,
    subscriptions: Sequence[Subscription] = (),
    extended: bool = True,
) -> list[dict[str, Any]]:
    """Lago's InvoiceObjectExtended for each invoice (all of one organization), in order:
    with its fees, subscriptions, billing periods and credits. `extended=False` gives
    Lago's InvoiceObject, what its invoice list answers: the customer, metadata and taxes,
    without the rows behind the fees (a third of the queries of a page).

    A preview passes its unsaved invoice with its customer and subscriptions, which may be
    unsaved too.
    """
    if not invoices:
        return []
    refs = await _load_refs(session, invoices, customer, subscriptions, extended=extended)
    thresholds = await applied_usage_thresholds(session, invoices)
    if extended:
        credits = await invoice_credits(session, invoices)
        progressive = await progressive_credits(session, invoices)
        coupons = await coupon_credits(session, invoices)
    objects = [_invoice_dict(invoice, refs, extended=extended) for invoice in invoices]
    entities = await rows_by_id(
        session, BillingEntity, {i.billing_entity_id for i in invoices if i.billing_entity_id}
    )
    for invoice, data in zip(invoices, objects, strict=True):
        entity = entities.get(invoice.billing_entity_id) if invoice.billing_entity_id else None
        data["billing_entity_code"] = (
            entity.code if entity is not None else data["customer"]["billing_entity_code"]
        )
        if extended:
            data["credits"] = (
                coupons.get(invoice.id, [])
                + progressive.get(invoice.id, [])
                + credits.get(invoice.id, [])
            )
        data["applied_usage_thresholds"] = thresholds.get(invoice.id, [])
    return objects


async def invoice_object(
    session: AsyncSession, invoice: Invoice, *, file_url: str | None = None
) -> dict[str, Any]:
    """Lago's InvoiceObject of one invoice; `file_url` is the PDF's address, once asked for."""
    (data,) = await invoice_objects(session, [invoice])
    data["file_url"] = file_url
    return data


def _invoice_dict(invoice: Invoice, refs: Refs, *, extended: bool) -> dict[str, Any]:
    customer = refs.customers[invoice.customer_id]
    progressive_credit = invoice.progressive_billing_credit_amount_cents or 0
    sub_total_excluding_taxes = (
        invoice.fees_amount_cents - invoice.coupons_amount_cents - progressive_credit
    )
    data: dict[str, Any] = {
        "lago_id": str(invoice.id) if invoice.id else None,
        "billing_entity_code": None,
        "sequential_id": invoice.sequential_id,
        "number": invoice.number or "",
        "issuing_date": invoice.issuing_date.isoformat(),
        "payment_dispute_lost_at": iso(invoice.payment_dispute_lost_at),
        "payment_due_date": (
            invoice.payment_due_date.isoformat() if invoice.payment_due_date else None
        ),
        "payment_overdue": invoice.payment_overdue,
        "net_payment_term": invoice.net_payment_term,
        "invoice_type": invoice.invoice_type,
        "status": invoice.status,
        "payment_status": invoice.payment_status,
        "currency": invoice.currency,
        "fees_amount_cents": invoice.fees_amount_cents,
        "coupons_amount_cents": invoice.coupons_amount_cents,
        "credit_notes_amount_cents": invoice.credit_notes_amount_cents,
        "sub_total_excluding_taxes_amount_cents": sub_total_excluding_taxes,
        "taxes_amount_cents": invoice.taxes_amount_cents,
        "sub_total_including_taxes_amount_cents": (
            sub_total_excluding_taxes + invoice.taxes_amount_cents
        ),
        "prepaid_credit_amount_cents": invoice.prepaid_credit_amount_cents,
        "prepaid_granted_credit_amount_cents": None,
        "prepaid_purchased_credit_amount_cents": None,
        "progressive_billing_credit_amount_cents": progressive_credit,
        "total_amount_cents": invoice.total_amount_cents,
        "total_paid_amount_cents": invoice.total_paid_amount_cents,
        "total_due_amount_cents": amount_due(invoice),
        "total_offsetted_credit_note_amount_cents": 0,
        "version_number": VERSION_NUMBER,
        "self_billed": False,
        "voided_at": iso(invoice.voided_at),
        "file_url": None,
        "xml_url": None,
        "web_url": None,
        "purchase_order_number": None,
        "created_at": iso(invoice.created_at),
        "updated_at": iso(invoice.updated_at),
        "customer": customer_object(
            customer, refs.organization, refs.customer_taxes.get(customer.id, [])
        ),
        "metadata": [
            {
                "lago_id": item["lago_id"],
                "key": item["key"],
                "value": item["value"],
                "created_at": item["created_at"],
            }
            for item in invoice.metadata_
        ],
        "applied_taxes": [_applied_tax(invoice, entry, refs) for entry in invoice.applied_taxes],
        "applied_invoice_custom_sections": [],
        "applied_usage_thresholds": [],
    }
    if extended:
        subscriptions = _invoice_subscriptions(invoice, refs)
        data |= {
            "billing_periods": _billing_periods(invoice, subscriptions),
            "subscriptions": [subscription_object(row) for row in subscriptions],
            "fees": [fee_object(invoice, fee, refs) for fee in invoice.fees],
            "credits": [],
            "error_details": [],
        }
    return data


def _invoice_subscriptions(invoice: Invoice, refs: Refs) -> list[Subscription]:
    """The invoice's subscription, then those of its fees, each once, in that order."""
    subscription_ids = dict.fromkeys(
        [
            *([invoice.subscription_id] if invoice.subscription_id else []),
            *(fee.subscription_id for fee in invoice.fees if fee.subscription_id),
        ]
    )
    return [refs.subscriptions[i] for i in subscription_ids if i in refs.subscriptions]


def _taxable_cents(fee: Fee) -> int:
    return fee.amount_cents - fee.coupons_amount_cents


def _applied_tax(invoice: Invoice, entry: dict[str, Any], refs: Refs) -> dict[str, Any]:
    tax = refs.taxes_by_code.get(entry["tax_code"])
    # The base the tax applied to; writers that know it store it, else every taxed fee.
    base = entry.get("fees_amount_cents")
    if base is None:
        base = refs.taxed_fee_cents.get(invoice.id)
    if base is None:
        base = sum(_taxable_cents(fee) for fee in invoice.fees if fee.taxes_rate)
    return {
        "lago_id": str(uuid.uuid5(invoice.id, f"tax:{entry['tax_code']}")) if invoice.id else None,
        "lago_invoice_id": str(invoice.id) if invoice.id else None,
        "lago_tax_id": str(tax.id) if tax else None,
        "tax_name": entry.get("tax_name", entry["tax_code"]),
        "tax_code": entry["tax_code"],
        "tax_rate": float(entry["tax_rate"]),
        "tax_description": tax.description if tax else None,
        "amount_cents": int(entry["amount_cents"]),
        "amount_currency": invoice.currency,
        "fees_amount_cents": int(base),
        "created_at": iso(invoice.created_at),
    }


def _billing_periods(invoice: Invoice, subscriptions: list[Subscription]) -> list[dict[str, Any]]:
    start, end = invoice.period_start, invoice.period_end
    if invoice.kind == "advance_charge" and invoice.fees:  # one event's fee: its period
        start, end = invoice.fees[0].from_datetime, invoice.fees[0].to_datetime
    if start is None or end is None:
        return []
    reason = _INVOICING_REASONS.get(invoice.kind, "subscription_periodic")
    if invoice.invoice_type == PROGRESSIVE_REASON:
        reason = PROGRESSIVE_REASON
    return [
        {
            "lago_subscription_id": str(row.id),
            "external_subscription_id": row.external_id,
            "lago_plan_id": str(row.plan_id),
            "subscription_from_datetime": iso(start),
            "subscription_to_datetime": iso(end),
            "charges_from_datetime": iso(start),
            "charges_to_datetime": iso(end),
            "invoicing_reason": reason,
        }
        for row in subscriptions
        if row.id == invoice.subscription_id
    ]
