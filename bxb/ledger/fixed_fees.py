"""Fees of fixed charges on a subscription invoice (Lago's fee_type ``fixed_charge``).

The workflow names the windows (fixed charges paid in advance for the period that starts,
those in arrears for the one that ends); here each fixed charge of a window becomes one
fee: its units priced by its charge model, prorated by days when it is ``prorated``. Taxes
follow Lago's precedence: the fixed charge's own, else the plan's, customer's,
organization's.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.fixed_charges import fixed_fee
from bxb.billing.invoice import FeeDraft
from bxb.billing.taxes import Tax as PureTax
from bxb.billing.taxes import resolve_applicable_taxes
from bxb.core.tax_book import TaxBook
from bxb.models import Fee, FixedCharge, Tax
from bxb.workflows.billing_requests import BillingRequest


async def _own_taxes(
    session: AsyncSession, request: BillingRequest
) -> dict[uuid.UUID, tuple[PureTax, ...]]:
    ids = {c.id for window in request.fixed_fees for c in window.charges}
    if not ids:
        return {}
    rows = list(await session.scalars(select(FixedCharge).where(FixedCharge.id.in_(ids))))
    tax_ids = {uuid.UUID(t) for row in rows for t in row.tax_ids}
    taxes = {}
    if tax_ids:
        found = await session.scalars(
            select(Tax).where(Tax.organization_id == request.organization_id, Tax.id.in_(tax_ids))
        )
        taxes = {t.id: PureTax(t.code, t.rate) for t in found}
    return {
        row.id: tuple(
            sorted(
                (taxes[uuid.UUID(t)] for t in row.tax_ids if uuid.UUID(t) in taxes),
                key=lambda t: t.code,
            )
        )
        for row in rows
    }


async def fixed_fee_lines(
    session: AsyncSession, request: BillingRequest, taxes: TaxBook
) -> list[tuple[FeeDraft, Fee]]:
    """One priced line per fixed charge of each window the request names."""
    own = await _own_taxes(session, request)
    lines: list[tuple[FeeDraft, Fee]] = []
    for window in request.fixed_fees:
        for charge in window.charges:
            priced = fixed_fee(
                charge.charge_model,
                charge.properties,
                charge.units,
                request.currency,
                days=window.days,
                full_days=window.full_days,
                prorated=charge.prorated,
            )
            name = charge.invoice_display_name or charge.add_on_name
            fee = Fee(
                organization_id=request.organization_id,
                subscription_id=window.segment_id,
                add_on_id=charge.add_on_id,
                fixed_charge_id=charge.id,
                fee_type="fixed_charge",
                description=name,
                item_code=charge.add_on_code,
                amount_cents=priced.amount_cents,
                precise_amount_cents=priced.exact_amount_minor,
                amount_currency=request.currency,
                units=priced.units,
                events_count=0,
                from_datetime=window.from_datetime,
                to_datetime=window.to_datetime,
                amount_details={
                    "pay_in_advance": charge.pay_in_advance,
                    "units": str(charge.units),
                    "days": window.days,
                    "full_days": window.full_days,
                },
            )
            chosen = resolve_applicable_taxes(
                charge_taxes=own.get(charge.id, ()),
                plan_taxes=taxes.by_target.get(window.plan_id, ()),
                customer_taxes=taxes.customer,
                organization_taxes=taxes.organization,
            )
            key = f"fixed-{window.segment_id}-{charge.id}-{window.from_datetime.isoformat()}"
            draft = FeeDraft(key, priced.amount_cents, chosen, window.plan_code)
            lines.append((draft, fee))
    return lines
