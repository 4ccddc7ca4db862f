"""/api/v1/billing_entities (Lago-compatible): an organization's legal entities.

Lago's server answers create and update with the entity under a `billing_entity` root key
(its reference declares no root); bxb follows the server. Show and update answer the
extended object (with `taxes`). There is no delete, as in Lago.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bxb.api.deps import OrgDep, SessionDep, reads_only
from bxb.api.errors import validation_error
from bxb.api.schemas.billing_entities import (
    BillingEntityCreateBody,
    BillingEntityFields,
    BillingEntityUpdateBody,
)
from bxb.api.taxes import taxes_for_codes
from bxb.lago_objects.billing_entities import billing_entity_object
from bxb.ledger.billing_entities import (
    create_entity,
    entity_taxes,
    find_entity,
    update_entity,
)
from bxb.models import BillingEntity

router = APIRouter(prefix="/api/v1", tags=["billing_entities"])


def _changes(fields: BillingEntityFields) -> dict[str, Any]:
    """The request's fields, billing_configuration's flattened into them."""
    changes = fields.model_dump(
        exclude_unset=True, exclude={"billing_configuration", "code", "tax_codes"}
    )
    if fields.billing_configuration is not None:
        changes |= fields.billing_configuration.model_dump(exclude_unset=True)
    return changes


@router.get("/billing_entities")
@reads_only
async def list_billing_entities(org: OrgDep, session: SessionDep) -> dict[str, Any]:
    entities = await session.scalars(
        select(BillingEntity)
        .where(BillingEntity.organization_id == org.id)
        .order_by(BillingEntity.created_at, BillingEntity.id)
    )
    return {"billing_entities": [billing_entity_object(entity) for entity in entities]}


@router.post("/billing_entities")
async def create_billing_entity(
    body: BillingEntityCreateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    data = body.billing_entity
    entity = await create_entity(session, org, data.code, _changes(data))
    try:
        await session.commit()
    except IntegrityError:  # a concurrent create took the code
        await session.rollback()
        raise validation_error({"code": ["value_already_exist"]}) from None
    return {"billing_entity": billing_entity_object(entity)}


@router.get("/billing_entities/{code}")
@reads_only
async def get_billing_entity(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    entity = await find_entity(session, org.id, code)
    taxes = await entity_taxes(session, entity)
    return {"billing_entity": billing_entity_object(entity, taxes)}


@router.put("/billing_entities/{code}")
async def update_billing_entity(
    code: str, body: BillingEntityUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    data = body.billing_entity
    entity = await find_entity(session, org.id, code, for_update=True)
    taxes = None
    if data.tax_codes is not None:
        taxes = await taxes_for_codes(session, org.id, data.tax_codes)
    await update_entity(session, org, entity, _changes(data), taxes)
    await session.commit()
    return {"billing_entity": billing_entity_object(entity, await entity_taxes(session, entity))}
