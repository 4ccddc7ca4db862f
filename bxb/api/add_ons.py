"""/api/v1/add_ons (Lago-compatible): one-off charges, with their own taxes.

Deleting an add-on soft-deletes it (invoices keep pointing at it) and frees its code.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import OrgDep, SessionDep, reads_only
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.add_ons import AddOnCreateBody, AddOnUpdateBody
from bxb.api.taxes import replace_applied_taxes, taxes_for_codes
from bxb.lago_objects.add_ons import add_on_object
from bxb.lago_objects.taxes import applied_taxes
from bxb.models import AddOn, AppliedTax
from bxb.models.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["add_ons"])


def _live(organization_id: uuid.UUID) -> Any:
    return (AddOn.organization_id == organization_id) & AddOn.deleted_at.is_(None)


async def _find(session: AsyncSession, organization_id: uuid.UUID, code: str) -> AddOn:
    add_on = await session.scalar(select(AddOn).where(_live(organization_id), AddOn.code == code))
    if add_on is None:
        raise not_found("add_on")
    return add_on


async def _check_code_free(session: AsyncSession, organization_id: uuid.UUID, code: str) -> None:
    taken = await session.scalar(select(AddOn.id).where(_live(organization_id), AddOn.code == code))
    if taken is not None:
        raise validation_error({"code": ["value_already_exist"]})


async def _respond(session: AsyncSession, add_on: AddOn) -> dict[str, Any]:
    taxes = await applied_taxes(session, AppliedTax.add_on_id, [add_on.id])
    return {"add_on": add_on_object(add_on, taxes[add_on.id])}


@asynccontextmanager
async def _committed(session: AsyncSession) -> AsyncIterator[None]:
    """Run the writes in the block, then commit them."""
    try:
        yield
        await session.commit()
    except IntegrityError:  # a concurrent request took the same code
        await session.rollback()
        raise validation_error({"code": ["value_already_exist"]}) from None


@router.post("/add_ons")
async def create_add_on(body: AddOnCreateBody, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    data = body.add_on
    await _check_code_free(session, org.id, data.code)
    taxes = await taxes_for_codes(session, org.id, data.tax_codes or [])
    add_on = AddOn(organization_id=org.id, **data.model_dump(exclude={"tax_codes"}))
    async with _committed(session):
        session.add(add_on)
        await session.flush()  # the add-on exists before its applied taxes point at it
        await replace_applied_taxes(session, org.id, AppliedTax.add_on_id, add_on.id, taxes)
    return await _respond(session, add_on)


@router.get("/add_ons")
@reads_only
async def list_add_ons(org: OrgDep, session: SessionDep, page: PageDep) -> dict[str, Any]:
    query = select(AddOn).where(_live(org.id)).order_by(AddOn.created_at.desc(), AddOn.id.desc())
    add_ons, meta = await paginate(session, query, page)
    taxes = await applied_taxes(session, AppliedTax.add_on_id, [a.id for a in add_ons])
    return {
        "add_ons": [add_on_object(add_on, taxes[add_on.id]) for add_on in add_ons],
        "meta": meta.model_dump(),
    }


@router.get("/add_ons/{code}")
@reads_only
async def get_add_on(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return await _respond(session, await _find(session, org.id, code))


@router.put("/add_ons/{code}")
async def update_add_on(
    code: str, body: AddOnUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    add_on = await _find(session, org.id, code)
    changes = body.add_on.model_dump(exclude_unset=True)
    tax_codes = changes.pop("tax_codes", None)
    if changes.get("code", add_on.code) != add_on.code:
        await _check_code_free(session, org.id, changes["code"])
    taxes = None if tax_codes is None else await taxes_for_codes(session, org.id, tax_codes)
    async with _committed(session):
        if taxes is not None:
            await replace_applied_taxes(session, org.id, AppliedTax.add_on_id, add_on.id, taxes)
        for key, value in changes.items():
            setattr(add_on, key, value)
    return await _respond(session, add_on)


@router.delete("/add_ons/{code}")
async def delete_add_on(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    add_on = await _find(session, org.id, code)
    add_on.deleted_at = utcnow()
    await session.commit()
    return await _respond(session, add_on)
