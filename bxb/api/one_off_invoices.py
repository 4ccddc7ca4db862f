"""One-off invoices: add-ons billed once, finalized and numbered at once (Lago's POST
/invoices).

A fee is `unit amount × units`, rounded once; its taxes are the fee's own tax codes, else
the add-on's, else the customer's, else the organization's. Coupons never apply to one-off
invoices (Lago); credit notes and wallet credits do, through the common finalization.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.customers import find_customer
from bxb.api.errors import not_found, validation_error
from bxb.api.schemas.invoices import OneOffFeeIn, OneOffInvoiceIn
from bxb.api.taxes import taxes_for_codes
from bxb.billing.invoice import AssembledInvoice, FeeDraft, assemble_invoice
from bxb.billing.money import round_minor
from bxb.billing.periods import local_day
from bxb.billing.taxes import Tax as PureTax
from bxb.billing.taxes import resolve_applicable_taxes
from bxb.core.customer_clock import customer_now, customer_zone
from bxb.core.tax_book import TaxBook
from bxb.ledger.amounts import set_fee_prices
from bxb.ledger.finalizing import finalize
from bxb.ledger.notifications import invoice_event
from bxb.models import AddOn, Customer, Fee, Invoice, Organization

CURRENCY_MISMATCH = {"currency": ["currencies_does_not_match"]}
# A ceiling far above any real line (10^13 dollars), so sums stay exact in BIGINT columns.
MAX_FEE_CENTS = 10**15


async def _add_ons(
    session: AsyncSession, organization_id: uuid.UUID, codes: set[str]
) -> dict[str, AddOn]:
    rows = await session.scalars(
        select(AddOn).where(
            AddOn.organization_id == organization_id,
            AddOn.code.in_(codes),
            AddOn.deleted_at.is_(None),
        )
    )
    found = {row.code: row for row in rows}
    if len(found) != len(codes):
        raise not_found("add_on")
    return found


def _currency(data: OneOffInvoiceIn, customer: Customer, add_ons: dict[str, AddOn]) -> str:
    """The invoice's currency: as asked, else the customer's, else the first add-on's."""
    first_add_on = add_ons[data.fees[0].add_on_code]
    currency = data.currency or customer.currency or first_add_on.amount_currency
    if customer.currency is not None and customer.currency != currency:
        raise validation_error(CURRENCY_MISMATCH)
    # An add-on's own price is in its currency; only an explicit unit amount can change it.
    for fee in data.fees:
        if fee.unit_amount_cents is None and add_ons[fee.add_on_code].amount_currency != currency:
            raise validation_error(CURRENCY_MISMATCH)
    return currency


def _fee_row(
    organization_id: uuid.UUID, fee: OneOffFeeIn, add_on: AddOn, currency: str
) -> tuple[Fee, int]:
    unit_amount = add_on.amount_cents if fee.unit_amount_cents is None else fee.unit_amount_cents
    units = Decimal(1) if fee.units is None else fee.units
    exact = Decimal(unit_amount) * units
    amount = round_minor(exact)
    if amount > MAX_FEE_CENTS:
        raise validation_error({"amount_cents": ["value_is_out_of_range"]})
    details: dict[str, Any] = {"unit_amount_cents": unit_amount}
    description = fee.description if fee.description is not None else add_on.description
    if description:
        details["description"] = description
    row = Fee(
        organization_id=organization_id,
        add_on_id=add_on.id,
        fee_type="add_on",
        description=fee.invoice_display_name or add_on.invoice_display_name or add_on.name,
        item_code=add_on.code,
        amount_cents=amount,
        precise_amount_cents=exact,
        amount_currency=currency,
        units=units,
        from_datetime=fee.from_datetime,
        to_datetime=fee.to_datetime,
        amount_details=details,
    )
    return row, amount


async def _fee_taxes(
    session: AsyncSession,
    organization_id: uuid.UUID,
    fee: OneOffFeeIn,
    add_on: AddOn,
    book: TaxBook,
) -> tuple[PureTax, ...]:
    own: tuple[PureTax, ...] = ()
    if fee.tax_codes:
        taxes = await taxes_for_codes(session, organization_id, fee.tax_codes)
        own = tuple(PureTax(tax.code, tax.rate) for tax in taxes)
    return resolve_applicable_taxes(
        charge_taxes=own,
        plan_taxes=book.by_target.get(add_on.id, ()),
        customer_taxes=book.customer,
        organization_taxes=book.organization,
    )


def applied_taxes_with_bases(book: TaxBook, assembled: AssembledInvoice) -> list[dict[str, Any]]:
    """The invoice's applied taxes, each with the amount it was computed on."""
    bases: dict[str, int] = {}
    for fee in assembled.fees:
        for tax in fee.tax.applied_taxes:
            bases[tax.code] = bases.get(tax.code, 0) + fee.tax.taxable_amount_cents
    return [
        entry | {"fees_amount_cents": bases[entry["tax_code"]]} for entry in book.applied(assembled)
    ]


async def create_one_off_invoice(
    session: AsyncSession, organization: Organization, data: OneOffInvoiceIn
) -> tuple[Invoice, list[uuid.UUID]]:
    """Write and finalize the invoice; returns it and its invoice.created webhooks (to
    dispatch after the caller commits)."""
    if not data.fees:
        raise validation_error({"fees": ["value_is_mandatory"]})
    customer = await find_customer(
        session, organization.id, data.external_customer_id, for_update=True
    )
    add_ons = await _add_ons(session, organization.id, {fee.add_on_code for fee in data.fees})
    currency = _currency(data, customer, add_ons)
    customer.currency = customer.currency or currency  # the first invoice fixes it (Lago)
    now = await customer_now(session, customer)
    book = await TaxBook.load(session, organization.id, customer.id, [])
    rows: list[Fee] = []
    drafts: list[FeeDraft] = []
    for position, fee in enumerate(data.fees):
        add_on = add_ons[fee.add_on_code]
        row, amount = _fee_row(organization.id, fee, add_on, currency)
        row.position = position
        taxes = await _fee_taxes(session, organization.id, fee, add_on, book)
        rows.append(row)
        drafts.append(FeeDraft(f"fee-{position}", amount, taxes))
    assembled = assemble_invoice(drafts, [], credit_cents=0, currency=currency, at=now)
    for row, priced in zip(rows, assembled.fees, strict=True):
        set_fee_prices(row, priced)
    invoice = Invoice(
        id=uuid.uuid4(),
        organization_id=organization.id,
        customer_id=customer.id,
        invoice_type="one_off",
        kind="one_off",
        status="draft",
        payment_status="pending",
        currency=currency,
        issuing_date=local_day(now, customer_zone(customer, organization)),
        fees_amount_cents=assembled.fees_amount_cents,
        coupons_amount_cents=0,
        taxes_amount_cents=assembled.taxes_amount_cents,
        total_amount_cents=assembled.total_amount_cents,
        applied_taxes=applied_taxes_with_bases(book, assembled),
        metadata_=[],
        fees=rows,
    )
    session.add(invoice)
    await session.flush()
    alerts = await finalize(session, invoice, now)
    await session.flush()
    return invoice, alerts + await invoice_event(session, invoice, "invoice.created")
