"""/api/v1/taxes (Lago-compatible), and the applied-tax helpers other resources share.

Taxes are deleted for good (Lago does the same); deleting one removes it from every
customer, plan, charge and add-on it was applied to.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import APIRouter
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import OrgDep, SessionDep, reads_only
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.taxes import TaxCreateBody, TaxUpdateBody
from bxb.lago_objects.taxes import OwnerColumn, tax_object
from bxb.models import AppliedTax, Tax

router = APIRouter(prefix="/api/v1", tags=["taxes"])


async def taxes_for_codes(
    session: AsyncSession, organization_id: uuid.UUID, codes: Sequence[str]
) -> list[Tax]:
    """The organization's taxes with these codes, or 404 tax_not_found (as Lago answers)."""
    wanted = set(codes)
    if not wanted:
        return []
    taxes = (
        await session.scalars(
            select(Tax)
            .where(Tax.organization_id == organization_id, Tax.code.in_(wanted))
            .order_by(Tax.code)
        )
    ).all()
    if len(taxes) != len(wanted):
        raise not_found("tax")
    return list(taxes)


async def replace_applied_taxes(
    session: AsyncSession,
    organization_id: uuid.UUID,
    owner: OwnerColumn,
    owner_id: uuid.UUID,
    taxes: Iterable[Tax],
) -> None:
    """Make `taxes` exactly the taxes applied to one customer, plan, charge or add-on."""
    await session.execute(delete(AppliedTax).where(owner == owner_id))
    for tax in taxes:
        session.add(
            AppliedTax(organization_id=organization_id, tax_id=tax.id, **{owner.key: owner_id})
        )


async def _find(session: AsyncSession, organization_id: uuid.UUID, code: str) -> Tax:
    tax = await session.scalar(
        select(Tax).where(Tax.organization_id == organization_id, Tax.code == code)
    )
    if tax is None:
        raise not_found("tax")
    return tax


async def _check_code_free(session: AsyncSession, organization_id: uuid.UUID, code: str) -> None:
    taken = await session.scalar(
        select(Tax.id).where(Tax.organization_id == organization_id, Tax.code == code)
    )
    if taken is not None:
        raise validation_error({"code": ["value_already_exist"]})


async def _commit(session: AsyncSession) -> None:
    """Commit; a concurrent request that took the same code turns into Lago's 422."""
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise validation_error({"code": ["value_already_exist"]}) from None


@router.post("/taxes")
async def create_tax(body: TaxCreateBody, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    await _check_code_free(session, org.id, body.tax.code)
    tax = Tax(organization_id=org.id, **body.tax.model_dump())
    session.add(tax)
    await _commit(session)
    return {"tax": tax_object(tax)}


@router.get("/taxes")
@reads_only
async def list_taxes(org: OrgDep, session: SessionDep, page: PageDep) -> dict[str, Any]:
    query = (
        select(Tax)
        .where(Tax.organization_id == org.id)
        .order_by(Tax.created_at.desc(), Tax.id.desc())
    )
    taxes, meta = await paginate(session, query, page)
    return {"taxes": [tax_object(tax) for tax in taxes], "meta": meta.model_dump()}


@router.get("/taxes/{code}")
@reads_only
async def get_tax(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return {"tax": tax_object(await _find(session, org.id, code))}


@router.put("/taxes/{code}")
async def update_tax(
    code: str, body: TaxUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    tax = await _find(session, org.id, code)
    changes = body.tax.model_dump(exclude_unset=True)
    if changes.get("code", tax.code) != tax.code:
        await _check_code_free(session, org.id, changes["code"])
    for key, value in changes.items():
        setattr(tax, key, value)
    await _commit(session)
    return {"tax": tax_object(tax)}


@router.delete("/taxes/{code}")
async def delete_tax(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    tax = await _find(session, org.id, code)
    deleted = tax_object(tax)
    await session.execute(delete(AppliedTax).where(AppliedTax.tax_id == tax.id))
    await session.delete(tax)
    await session.commit()
    return {"tax": deleted}
