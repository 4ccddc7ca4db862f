"""Finding a plan's charges and filters by the codes and ids Lago's routes name."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.errors import not_found
from bxb.api.pagination import PageParams, meta_for
from bxb.lago_objects.charge_filters import charge_filter_object
from bxb.lago_objects.plans import charge_object
from bxb.lago_objects.taxes import applied_taxes
from bxb.models import AppliedTax, Charge, ChargeFilter, Plan


def find_charge(plan: Plan, code: str) -> Charge:
    """The plan's charge with this code; a charge made without a code (bxb allows it) is
    addressed by its lago_id."""
    for charge in plan.charges:
        if charge.code == code or str(charge.id) == code:
            return charge
    raise not_found("charge")


def find_filter(charge: Charge, filter_id: str) -> ChargeFilter:
    try:
        wanted = uuid.UUID(filter_id)
    except ValueError:
        raise not_found("charge_filter") from None
    for charge_filter in charge.filters:
        if charge_filter.id == wanted:
            return charge_filter
    raise not_found("charge_filter")


async def render_charges(session: AsyncSession, charges: Sequence[Charge]) -> list[dict[str, Any]]:
    taxes = await applied_taxes(session, AppliedTax.charge_id, [c.id for c in charges])
    return [charge_object(charge, taxes[charge.id]) for charge in charges]


def page_of(items: Sequence[Any], page: PageParams) -> tuple[list[Any], dict[str, Any]]:
    """One page of an in-memory list, with Lago's meta."""
    chosen = list(items[page.offset : page.offset + page.per_page])
    return chosen, meta_for(page, len(items)).model_dump()


def filter_page(charge: Charge, page: PageParams) -> dict[str, Any]:
    chosen, meta = page_of(charge.filters, page)
    return {"filters": [charge_filter_object(charge, f) for f in chosen], "meta": meta}
