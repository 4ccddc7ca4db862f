"""/api/v1/api_keys: an organization's keys, each named, with a role and an optional expiry.

Create and rotate answer with `value` (the key itself) once; no other answer has it. Only
admins reach these routes (bxb.governance.permissions). Revoking, or demoting, the
organization's last live admin key is refused (422 `last_admin_key`): nobody could
manage keys through the API after it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.api_keys import ApiKeyCreateBody, ApiKeyRotateBody, ApiKeyUpdateBody
from bxb.core.organizations import IssuedKey
from bxb.governance import api_keys
from bxb.governance.key_grants import forget_api_keys
from bxb.lago_objects.api_keys import api_key_object
from bxb.models import ApiKey
from bxb.models.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["api_keys"])


def _future(field: str, moment: datetime | None) -> None:
    if moment is not None and moment <= utcnow():
        raise validation_error({field: ["must_be_in_the_future"]})


async def _key(session: SessionDep, org: OrgDep, lago_id: str) -> ApiKey:
    try:
        key_id = uuid.UUID(lago_id)
    except ValueError:
        raise not_found("api_key") from None
    key = await api_keys.find_key(session, org.id, key_id)
    if key is None:
        raise not_found("api_key")
    return key


def _last_admin() -> Exception:
    return validation_error({"api_key": ["last_admin_key"]})


def _issued(issued: IssuedKey) -> dict[str, Any]:
    return {"api_key": api_key_object(issued.row, value=issued.plaintext)}


@router.post("/api_keys")
async def create_api_key(body: ApiKeyCreateBody, org: OrgDep, session: SessionDep) -> Any:
    data = body.api_key
    _future("expires_at", data.expires_at)
    issued = await api_keys.create_key(
        session, org.id, name=data.name, role=data.role, expires_at=data.expires_at
    )
    await session.commit()
    return _issued(issued)


@router.get("/api_keys")
async def list_api_keys(org: OrgDep, session: SessionDep, page: PageDep) -> Any:
    query = (
        select(ApiKey)
        .where(ApiKey.organization_id == org.id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id)
    )
    keys, meta = await paginate(session, query, page)
    return {"api_keys": [api_key_object(key) for key in keys], "meta": meta.model_dump()}


@router.get("/api_keys/{lago_id}")
async def get_api_key(lago_id: str, org: OrgDep, session: SessionDep) -> Any:
    return {"api_key": api_key_object(await _key(session, org, lago_id))}


@router.put("/api_keys/{lago_id}")
async def update_api_key(
    lago_id: str, body: ApiKeyUpdateBody, org: OrgDep, session: SessionDep
) -> Any:
    data = body.api_key
    _future("expires_at", data.expires_at)
    key = await _key(session, org, lago_id)
    changes = api_keys.KeyChanges(
        name=data.name,
        role=data.role,
        expires_at=data.expires_at,
        clear_expiry="expires_at" in data.model_fields_set and data.expires_at is None,
    )
    try:
        await api_keys.update_key(session, key, changes)
    except api_keys.LastAdminKeyError:
        raise _last_admin() from None
    await session.commit()
    forget_api_keys()
    return {"api_key": api_key_object(key)}


@router.post("/api_keys/{lago_id}/rotate")
async def rotate_api_key(
    lago_id: str, org: OrgDep, session: SessionDep, body: ApiKeyRotateBody | None = None
) -> Any:
    expires_old_at = None if body is None else body.api_key.expires_old_at
    _future("expires_old_at", expires_old_at)
    key = await _key(session, org, lago_id)
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= utcnow()):
        raise validation_error({"api_key": ["not_live"]})
    issued = await api_keys.rotate_key(session, key, old_expires_at=expires_old_at)
    await session.commit()
    forget_api_keys()
    return _issued(issued)


@router.delete("/api_keys/{lago_id}")
async def revoke_api_key(lago_id: str, org: OrgDep, session: SessionDep) -> Any:
    key = await _key(session, org, lago_id)
    try:
        await api_keys.revoke_key(session, key)
    except api_keys.LastAdminKeyError:
        raise _last_admin() from None
    await session.commit()
    forget_api_keys()
    return {"api_key": api_key_object(key)}
