"""A plan's children (the copies plan_overrides make) and copying charges into them."""

from __future__ import annotations

import copy
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import Charge, ChargeFilter, Plan


async def child_plans(session: AsyncSession, plan: Plan) -> list[Plan]:
    return list(
        await session.scalars(
            select(Plan).where(Plan.parent_id == plan.id, Plan.deleted_at.is_(None))
        )
    )


async def child_charges(session: AsyncSession, charge: Charge) -> list[Charge]:
    return list(
        await session.scalars(
            select(Charge).where(Charge.parent_id == charge.id, Charge.deleted_at.is_(None))
        )
    )


def copy_charge(session: AsyncSession, source: Charge, plan: Plan) -> Charge:
    """A child of `source` in (overridden) `plan`, with copies of its filters."""
    charge = Charge(
        id=uuid.uuid4(),
        organization_id=source.organization_id,
        plan_id=plan.id,
        billable_metric_id=source.billable_metric_id,
        code=source.code,
        charge_model=source.charge_model,
        properties=copy.deepcopy(source.properties),
        invoice_display_name=source.invoice_display_name,
        pay_in_advance=source.pay_in_advance,
        invoiceable=source.invoiceable,
        prorated=source.prorated,
        min_amount_cents=source.min_amount_cents,
        regroup_paid_fees=source.regroup_paid_fees,
        parent_id=source.id,
    )
    session.add(charge)
    for f in source.filters:
        session.add(
            ChargeFilter(
                charge_id=charge.id,
                invoice_display_name=f.invoice_display_name,
                properties=copy.deepcopy(f.properties),
                values=copy.deepcopy(f.values),
            )
        )
    return charge
