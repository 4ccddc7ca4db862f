"""Features and their privileges (Lago's FeatureCreateService, FeatureUpdateService,
FeatureDestroyService and PrivilegeDestroyService).

- Privilege codes may not repeat in one request: `privilege.code: value_is_duplicated`.
- A privilege's errors are named `privilege.<field>`, as Lago prefixes them.
- An update (Lago's API updates partially) changes the fields it names; a privilege it
  names is created, or renamed, and a select's `select_options` gain the ones sent (never
  lose any). A privilege's value type never changes.
- Deleting a feature removes it from every plan and subscription (entitlements, values,
  removals); deleting a privilege removes its values everywhere. Both are soft-deleted, as
  Lago does, so their codes are free again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.entitlements import VALUE_TYPES, config_is_valid
from bxb.entitlements import NotFoundError, invalid
from bxb.models import Entitlement, EntitlementRemoval, EntitlementValue, Feature, Privilege
from bxb.models.base import utcnow

CODE_LENGTH = 255
NAME_LENGTH = 255
DESCRIPTION_LENGTH = 600  # Lago's limit on a feature's description


def _live(organization_id: uuid.UUID) -> Any:
    return (Feature.organization_id == organization_id) & Feature.deleted_at.is_(None)


async def find_feature(session: AsyncSession, organization_id: uuid.UUID, code: str) -> Feature:
    feature = await session.scalar(
        select(Feature)
        .where(_live(organization_id), Feature.code == code)
        .execution_options(populate_existing=True)
    )
    if feature is None:
        raise NotFoundError("feature")
    return feature


def _check_text(field: str, value: object, limit: int, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise invalid(field, "value_is_mandatory")
        return None
    if not isinstance(value, str):
        raise invalid(field, "value_is_invalid")
    if required and not value.strip():
        raise invalid(field, "value_is_mandatory")
    if len(value) > limit:
        raise invalid(field, "value_is_too_long")
    return value


def _check_duplicates(privileges: Sequence[Mapping[str, Any]] | None) -> None:
    codes = [p.get("code") for p in privileges or []]
    texts = [code.strip() if isinstance(code, str) else str(code) for code in codes]
    if len(texts) != len(set(texts)):
        raise invalid("privilege.code", "value_is_duplicated")


def _privilege_items(privileges: object) -> list[Mapping[str, Any]]:
    if privileges is None:
        return []
    if not isinstance(privileges, list) or not all(isinstance(p, dict) for p in privileges):
        raise invalid("privileges", "invalid_type")
    return privileges


def _new_privilege(feature: Feature, data: Mapping[str, Any]) -> Privilege:
    code = _check_text("privilege.code", data.get("code"), CODE_LENGTH, required=True)
    assert code is not None
    name = _check_text("privilege.name", data.get("name"), NAME_LENGTH)
    value_type = data.get("value_type", "string")
    if value_type not in VALUE_TYPES:
        raise invalid("privilege.value_type", "value_is_invalid")
    config = data.get("config") or {}
    if not isinstance(config, dict) or not config_is_valid(value_type, config):
        raise invalid("privilege.config", "invalid_format")
    return Privilege(
        organization_id=feature.organization_id,
        feature_id=feature.id,
        code=code.strip(),
        name=name,
        value_type=value_type,
        config=config,
    )


def _update_privilege(privilege: Privilege, data: Mapping[str, Any]) -> None:
    if "name" in data:
        privilege.name = _check_text("privilege.name", data["name"], NAME_LENGTH)
    config = data.get("config")
    options = config.get("select_options") if isinstance(config, dict) else None
    if options is not None and not isinstance(options, list):
        raise invalid("privilege.config", "invalid_format")
    if options:
        current = dict(privilege.config or {})
        merged = list(current.get("select_options") or [])
        merged += [o for o in options if o not in merged]  # Ruby's |=: a union, in order
        current["select_options"] = merged
        if not config_is_valid(privilege.value_type, current):
            raise invalid("privilege.config", "invalid_format")
        privilege.config = current


async def create_feature(
    session: AsyncSession,
    organization_id: uuid.UUID,
    code: object,
    name: object,
    description: object,
    privileges: object,
) -> Feature:
    items = _privilege_items(privileges)
    _check_duplicates(items)
    code_text = _check_text("code", code, CODE_LENGTH, required=True)
    assert code_text is not None
    feature = Feature(
        id=uuid.uuid4(),
        organization_id=organization_id,
        code=code_text.strip(),
        name=_check_text("name", name, NAME_LENGTH),
        description=_check_text("description", description, DESCRIPTION_LENGTH),
    )
    taken = await session.scalar(
        select(Feature.id).where(_live(organization_id), Feature.code == feature.code)
    )
    if taken is not None:
        raise invalid("code", "value_already_exist")
    new_privileges = [_new_privilege(feature, item) for item in items]
    try:
        session.add(feature)
        await session.flush()
        session.add_all(new_privileges)
        await session.flush()
    except IntegrityError:  # a concurrent request took the same code
        await session.rollback()
        raise invalid("code", "value_already_exist") from None
    return feature


async def update_feature(
    session: AsyncSession, feature: Feature, changes: Mapping[str, Any]
) -> Feature:
    items = _privilege_items(changes.get("privileges"))
    _check_duplicates(items)
    if "name" in changes:
        feature.name = _check_text("name", changes["name"], NAME_LENGTH)
    if "description" in changes:
        feature.description = _check_text("description", changes["description"], DESCRIPTION_LENGTH)
    existing = {p.code: p for p in await privileges_of(session, feature.id)}
    for item in items:
        code = item.get("code")
        privilege = existing.get(code.strip()) if isinstance(code, str) else None
        if privilege is None:
            session.add(_new_privilege(feature, item))
        else:
            _update_privilege(privilege, item)
    feature.updated_at = utcnow()
    await session.flush()
    return feature


async def privileges_of(session: AsyncSession, feature_id: uuid.UUID) -> list[Privilege]:
    rows = await session.scalars(
        select(Privilege)
        .where(Privilege.feature_id == feature_id, Privilege.deleted_at.is_(None))
        .order_by(Privilege.created_at, Privilege.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def delete_feature(session: AsyncSession, feature: Feature) -> None:
    """Soft-delete the feature and its privileges; remove it from plans and subscriptions."""
    now = utcnow()
    privileges = await privileges_of(session, feature.id)
    await session.execute(delete(Entitlement).where(Entitlement.feature_id == feature.id))
    await session.execute(
        delete(EntitlementRemoval).where(
            or_(
                EntitlementRemoval.feature_id == feature.id,
                EntitlementRemoval.privilege_id.in_([p.id for p in privileges]),
            )
        )
    )
    for privilege in privileges:
        privilege.deleted_at = now
    feature.deleted_at = now
    await session.flush()


async def delete_privilege(session: AsyncSession, feature: Feature, code: str) -> None:
    privilege = next((p for p in await privileges_of(session, feature.id) if p.code == code), None)
    if privilege is None:
        raise NotFoundError("privilege")
    await session.execute(
        delete(EntitlementValue).where(EntitlementValue.privilege_id == privilege.id)
    )
    await session.execute(
        delete(EntitlementRemoval).where(EntitlementRemoval.privilege_id == privilege.id)
    )
    privilege.deleted_at = utcnow()
    await session.flush()
