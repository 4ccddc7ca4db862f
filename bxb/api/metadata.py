"""/api/v1/plans/{code}/metadata and /api/v1/credit_notes/{lago_id}/metadata: Lago's
key/value metadata routes (bxb.ledger.metadata holds the rules).

`POST` replaces the metadata, `PATCH` merges into it, `DELETE` removes it all (null
afterwards), `DELETE /{key}` removes one key (404 `metadata_not_found` when there is no
metadata at all). Each answers `{"metadata": ...}` as stored afterwards.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import not_found
from bxb.api.plans import find_plan
from bxb.ledger import metadata
from bxb.ledger.metadata import MetadataBody
from bxb.models import CreditNote, Plan

router = APIRouter(prefix="/api/v1")


async def _credit_note(
    session: AsyncSession, organization_id: uuid.UUID, lago_id: str
) -> CreditNote:
    try:
        note_id = uuid.UUID(lago_id)
    except ValueError:
        raise not_found("credit_note") from None
    note = await session.scalar(
        select(CreditNote)
        .where(CreditNote.organization_id == organization_id, CreditNote.id == note_id)
        .with_for_update()
    )
    if note is None:
        raise not_found("credit_note")
    return note


async def _save(session: AsyncSession, owner: Plan | CreditNote, value: Any) -> dict[str, Any]:
    owner.metadata_ = value
    await session.commit()
    return metadata.answer(value)


def _without(owner: Plan | CreditNote, key: str) -> metadata.MetadataValue:
    try:
        return metadata.without_key(owner.metadata_, key)
    except metadata.NoMetadataError:
        raise not_found("metadata") from None


# --- plans ---------------------------------------------------------------------------------


@router.post("/plans/{code}/metadata", tags=["plans"])
async def replace_plan_metadata(
    code: str, body: MetadataBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    return await _save(session, plan, metadata.replaced(body.metadata))


@router.patch("/plans/{code}/metadata", tags=["plans"])
async def merge_plan_metadata(
    code: str, body: MetadataBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    return await _save(session, plan, metadata.merged(plan.metadata_, body.metadata))


@router.delete("/plans/{code}/metadata", tags=["plans"])
async def delete_plan_metadata(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    return await _save(session, plan, None)


@router.delete("/plans/{code}/metadata/{key}", tags=["plans"])
async def delete_plan_metadata_key(
    code: str, key: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    plan = await find_plan(session, org, code)
    return await _save(session, plan, _without(plan, key))


# --- credit notes --------------------------------------------------------------------------


@router.post("/credit_notes/{lago_id}/metadata", tags=["credit_notes"])
async def replace_credit_note_metadata(
    lago_id: str, body: MetadataBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    note = await _credit_note(session, org.id, lago_id)
    return await _save(session, note, metadata.replaced(body.metadata))


@router.patch("/credit_notes/{lago_id}/metadata", tags=["credit_notes"])
async def merge_credit_note_metadata(
    lago_id: str, body: MetadataBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    note = await _credit_note(session, org.id, lago_id)
    return await _save(session, note, metadata.merged(note.metadata_, body.metadata))


@router.delete("/credit_notes/{lago_id}/metadata", tags=["credit_notes"])
async def delete_credit_note_metadata(
    lago_id: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    note = await _credit_note(session, org.id, lago_id)
    return await _save(session, note, None)


@router.delete("/credit_notes/{lago_id}/metadata/{key}", tags=["credit_notes"])
async def delete_credit_note_metadata_key(
    lago_id: str, key: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    note = await _credit_note(session, org.id, lago_id)
    return await _save(session, note, _without(note, key))
