"""Lago's FeeObject from Fee rows, with the rows a page of invoices points at (Refs).

Money shown with precision (`precise_amount`, ...) is in major units as Lago writes it;
integer amounts stay in minor units.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.money import currency_exponent
from bxb.lago_objects.formats import decimal_string, iso
from bxb.lago_objects.rows import rows_by_id
from bxb.models import (
    AddOn,
    BillableMetric,
    Charge,
    ChargeFilter,
    Customer,
    Fee,
    Invoice,
    Organization,
    Plan,
    Subscription,
    Tax,
    WalletTransaction,
)


@dataclass(frozen=True)
class PlanRef:
    """What a fee shows of its subscription's plan (not the plan's charges and children)."""

    name: str
    pay_in_advance: bool


@dataclass(frozen=True)
class ChargeRef:
    """What a fee shows of its charge: the metric's code and name, and two flags."""

    billable_metric_id: uuid.UUID
    metric_code: str
    metric_name: str
    pay_in_advance: bool
    invoiceable: bool


async def plan_refs(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, PlanRef]:
    """One query of three columns: a Plan row would load its charges, fixed charges and
    thresholds too (selectin), several queries a page that a fee never reads."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Plan.id, Plan.name, Plan.pay_in_advance).where(Plan.id.in_(ids))
    )
    return {row.id: PlanRef(row.name, row.pay_in_advance) for row in rows}


async def charge_refs(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, ChargeRef]:
    """One query (charge joined to its metric), where Charge rows would load their filters
    and their metric's filters too."""
    if not ids:
        return {}
    rows = await session.execute(
        select(
            Charge.id,
            Charge.billable_metric_id,
            BillableMetric.code,
            BillableMetric.name,
            Charge.pay_in_advance,
            Charge.invoiceable,
        )
        .join(BillableMetric, BillableMetric.id == Charge.billable_metric_id)
        .where(Charge.id.in_(ids))
    )
    return {row[0]: ChargeRef(*row[1:]) for row in rows}


@dataclass
class Refs:
    """Rows the invoices of one page point at, by id."""

    organization: Organization
    customers: dict[uuid.UUID, Customer] = field(default_factory=dict)
    customer_taxes: dict[uuid.UUID, list[Tax]] = field(default_factory=dict)
    subscriptions: dict[uuid.UUID, Subscription] = field(default_factory=dict)
    plans: dict[uuid.UUID, PlanRef] = field(default_factory=dict)
    charges: dict[uuid.UUID, ChargeRef] = field(default_factory=dict)
    charge_filters: dict[uuid.UUID, ChargeFilter] = field(default_factory=dict)
    add_ons: dict[uuid.UUID, AddOn] = field(default_factory=dict)
    # The wallet transaction a top-up invoice was issued for, by invoice id.
    top_ups: dict[uuid.UUID, WalletTransaction] = field(default_factory=dict)
    taxes_by_code: dict[str, Tax] = field(default_factory=dict)
    # What each invoice's taxed fees come to after coupons (summed in SQL for a list,
    # which does not load the fees): the base of an applied tax stored without one.
    taxed_fee_cents: dict[uuid.UUID, int] = field(default_factory=dict)


async def taxed_fee_cents(
    session: AsyncSession, invoice_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Per invoice, the sum of its taxed fees' amounts after coupons (0 when none)."""
    found = dict.fromkeys(invoice_ids, 0)
    if not invoice_ids:
        return found
    rows = await session.execute(
        select(Fee.invoice_id, func.sum(Fee.amount_cents - Fee.coupons_amount_cents))
        .where(Fee.invoice_id.in_(list(invoice_ids)), Fee.taxes_rate != 0)
        .group_by(Fee.invoice_id)
    )
    for invoice_id, cents in rows:
        assert invoice_id is not None  # selected by invoice id
        found[invoice_id] = int(cents)
    return found


def _item(fee: Fee, refs: Refs) -> tuple[dict[str, Any], bool, bool]:
    """Lago's fee `item`, and whether the fee was paid in advance / is invoiceable."""
    item: dict[str, Any] = {
        "type": fee.fee_type,
        "code": fee.item_code,
        "name": fee.description,
        "invoice_display_name": fee.description,
        "filter_invoice_display_name": None,
        "filters": None,
        "lago_item_id": str(fee.subscription_id) if fee.subscription_id else None,
        "item_type": "Subscription",
        "grouped_by": {},
    }
    charge = refs.charges.get(fee.charge_id) if fee.charge_id else None
    add_on = refs.add_ons.get(fee.add_on_id) if fee.add_on_id else None
    if charge is not None:
        item |= {
            "code": charge.metric_code,
            "name": charge.metric_name,
            "lago_item_id": str(charge.billable_metric_id),
            "item_type": "BillableMetric",
        }
        charge_filter = refs.charge_filters.get(fee.charge_filter_id or uuid.UUID(int=0))
        if charge_filter is not None:
            item["filter_invoice_display_name"] = charge_filter.invoice_display_name
            item["filters"] = charge_filter.values
        return item, charge.pay_in_advance or fee.pay_in_advance, charge.invoiceable
    if add_on is not None:
        item |= {
            "code": add_on.code,
            "name": add_on.name,
            "lago_item_id": str(add_on.id),
            "item_type": "AddOn",
        }
        return item, bool(fee.amount_details.get("pay_in_advance")), True
    top_up = refs.top_ups.get(fee.invoice_id or uuid.UUID(int=0))
    if fee.fee_type == "credit" and fee.subscription_id is None:
        # Lago: a top-up's fee names the wallet transaction it bought.
        item |= {
            "code": "credit",
            "name": (top_up.name if top_up else None) or fee.description or "credit",
            "lago_item_id": str(top_up.id) if top_up else None,
            "item_type": "WalletTransaction",
        }
        return item, False, True
    subscription = refs.subscriptions.get(fee.subscription_id or uuid.UUID(int=0))
    plan = refs.plans.get(subscription.plan_id) if subscription else None
    if plan is not None:
        item["name"] = plan.name
    return item, bool(plan and plan.pay_in_advance and fee.fee_type == "subscription"), True


def fee_object(invoice: Invoice | None, fee: Fee, refs: Refs) -> dict[str, Any]:
    """A fee as Lago shows it; `invoice` is None for a fee on no invoice (a non-invoiceable
    pay-in-advance charge's)."""
    item, pay_in_advance, invoiceable = _item(fee, refs)
    subscription = refs.subscriptions.get(fee.subscription_id or uuid.UUID(int=0))
    if fee.pay_in_advance:
        pay_in_advance, invoiceable = True, fee.invoiceable
    customer_id = invoice.customer_id if invoice is not None else None
    if customer_id is None and subscription is not None:
        customer_id = subscription.customer_id
    customer = refs.customers[customer_id] if customer_id else None
    payment_status = fee.payment_status or (invoice.payment_status if invoice else "pending")
    exponent = currency_exponent(fee.amount_currency)
    precise = fee.precise_amount_cents.scaleb(-exponent)
    unit_amount = precise / fee.units if fee.units else Decimal(0)
    sub_total = fee.amount_cents - fee.coupons_amount_cents
    precise_coupons = fee.precise_coupons_amount_cents
    precise_taxes = fee.taxes_precise_amount_cents
    return {
        "lago_id": str(fee.id) if fee.id else None,
        "lago_charge_id": str(fee.charge_id) if fee.charge_id else None,
        "lago_charge_filter_id": str(fee.charge_filter_id) if fee.charge_filter_id else None,
        "lago_fixed_charge_id": str(fee.fixed_charge_id) if fee.fixed_charge_id else None,
        "lago_invoice_id": str(invoice.id) if invoice is not None and invoice.id else None,
        "lago_true_up_fee_id": _true_up_fee_id(invoice, fee) if invoice is not None else None,
        "lago_true_up_parent_fee_id": (
            str(fee.true_up_parent_fee_id) if fee.true_up_parent_fee_id else None
        ),
        "lago_subscription_id": str(fee.subscription_id) if fee.subscription_id else None,
        "lago_customer_id": str(customer.id) if customer else None,
        "external_customer_id": customer.external_id if customer else None,
        "external_subscription_id": subscription.external_id if subscription else None,
        "amount_cents": fee.amount_cents,
        "amount_currency": fee.amount_currency,
        "precise_amount": decimal_string(precise),
        "precise_total_amount": decimal_string(
            (fee.precise_amount_cents + precise_taxes).scaleb(-exponent)
        ),
        "precise_unit_amount": decimal_string(unit_amount),
        "precise_coupons_amount_cents": decimal_string(precise_coupons),
        "taxes_amount_cents": fee.taxes_amount_cents,
        "taxes_precise_amount": decimal_string(precise_taxes.scaleb(-exponent)),
        "taxes_rate": float(fee.taxes_rate),
        "total_amount_cents": fee.amount_cents + fee.taxes_amount_cents,
        "total_amount_currency": fee.amount_currency,
        "sub_total_excluding_taxes_amount_cents": sub_total,
        "sub_total_excluding_taxes_precise_amount_cents": decimal_string(
            fee.precise_amount_cents - precise_coupons
        ),
        "units": decimal_string(fee.units),
        "total_aggregated_units": decimal_string(fee.units),
        "events_count": fee.events_count,
        "pay_in_advance": pay_in_advance,
        "invoiceable": invoiceable,
        "self_billed": False,
        "from_date": iso(fee.from_datetime),
        "to_date": iso(fee.to_datetime),
        "payment_status": payment_status,
        "created_at": iso(fee.created_at),
        "succeeded_at": iso(fee.succeeded_at),
        "failed_at": iso(fee.failed_at),
        "refunded_at": iso(fee.refunded_at),
        "event_transaction_id": fee.pay_in_advance_event_transaction_id,
        # One-off lines keep their free text apart from the name shown on the invoice.
        "description": fee.amount_details.get("description", fee.description),
        "amount_details": {
            k: v
            for k, v in fee.amount_details.items()
            if k not in ("description", "pay_in_advance")
        },
        "item": item,
        "applied_taxes": [],
    }


async def top_ups(session: AsyncSession, fees: Sequence[Fee]) -> dict[uuid.UUID, WalletTransaction]:
    """The wallet transactions the top-up invoices of `fees` were issued for, by invoice id."""
    invoice_ids = {f.invoice_id for f in fees if f.fee_type == "credit" and f.invoice_id}
    if not invoice_ids:
        return {}
    rows = await session.scalars(
        select(WalletTransaction).where(
            WalletTransaction.invoice_id.in_(invoice_ids),
            WalletTransaction.transaction_type == "inbound",
        )
    )
    return {row.invoice_id: row for row in rows if row.invoice_id is not None}


def _true_up_fee_id(invoice: Invoice, fee: Fee) -> str | None:
    """The true-up fee topping this charge fee up to its minimum, if any (same invoice)."""
    if fee.id is None or fee.fee_type != "charge":
        return None
    for other in invoice.fees:
        if other.true_up_parent_fee_id == fee.id:
            return str(other.id)
    return None


async def fee_objects(session: AsyncSession, fees: Sequence[Fee]) -> list[dict[str, Any]]:
    """Lago's FeeObject for fees of one organization, with or without an invoice (the
    /fees routes and the fee.created webhook)."""
    if not fees:
        return []
    organization = await session.get(Organization, fees[0].organization_id)
    assert organization is not None
    refs = Refs(organization)
    invoices = await rows_by_id(session, Invoice, {f.invoice_id for f in fees if f.invoice_id})
    refs.subscriptions = await rows_by_id(
        session, Subscription, {f.subscription_id for f in fees if f.subscription_id}
    )
    customer_ids = {i.customer_id for i in invoices.values()}
    customer_ids |= {s.customer_id for s in refs.subscriptions.values()}
    refs.customers = await rows_by_id(session, Customer, customer_ids)
    refs.plans = await plan_refs(session, {s.plan_id for s in refs.subscriptions.values()})
    refs.charges = await charge_refs(session, {f.charge_id for f in fees if f.charge_id})
    refs.charge_filters = await rows_by_id(
        session, ChargeFilter, {f.charge_filter_id for f in fees if f.charge_filter_id}
    )
    refs.add_ons = await rows_by_id(session, AddOn, {f.add_on_id for f in fees if f.add_on_id})
    refs.top_ups = await top_ups(session, fees)
    return [
        fee_object(invoices.get(fee.invoice_id) if fee.invoice_id else None, fee, refs)
        for fee in fees
    ]
