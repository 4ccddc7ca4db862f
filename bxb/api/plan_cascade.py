"""``cascade_updates`` on ``PUT /plans/{code}``: the plan's children follow, as in Lago.

Lago (Plans::UpdateService): the amount reaches the children that still had the old
amount; new charges are copied into every child, removed ones are removed from them, and
a charge's price change reaches the child charges that still had the parent's price
(model and properties) before the change. Running subscriptions on the plan and its
children then take the plan's new snapshot at their next period (core/plan_refresh.py).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.plan_children import child_plans, copy_charge
from bxb.models import Charge, Plan
from bxb.models.base import utcnow


@dataclass(frozen=True)
class PlanBefore:
    amount_cents: int
    prices: dict[uuid.UUID, tuple[str, dict[str, Any]]]


def capture(plan: Plan) -> PlanBefore:
    """The parent's amount and charge prices before a change."""
    return PlanBefore(
        plan.amount_cents,
        {c.id: (c.charge_model, copy.deepcopy(c.properties)) for c in plan.charges},
    )


async def cascade_plan(session: AsyncSession, plan: Plan, before: PlanBefore) -> list[uuid.UUID]:
    """Carry the change into the children (uncommitted); the plan ids it touched."""
    children = await child_plans(session, plan)
    current = {c.id: c for c in plan.charges}
    for child in children:
        if child.amount_cents == before.amount_cents:
            child.amount_cents = plan.amount_cents
        copies = {
            c.parent_id: c
            for c in await session.scalars(
                select(Charge).where(Charge.plan_id == child.id, Charge.deleted_at.is_(None))
            )
            if c.parent_id is not None
        }
        for charge_id, charge in current.items():
            own = copies.get(charge_id)
            if charge_id not in before.prices:
                copy_charge(session, charge, child)
            elif own is not None and (own.charge_model, own.properties) == before.prices[charge_id]:
                own.charge_model = charge.charge_model
                own.properties = copy.deepcopy(charge.properties)
        for parent_id, own in copies.items():
            if parent_id in before.prices and parent_id not in current:
                own.deleted_at = utcnow()
    return [plan.id, *(child.id for child in children)]
