"""/api/v1/features (Lago-compatible): features and their privileges.

Rules live in bxb.entitlements.features; `answering()` turns its errors into Lago's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.features import FeatureCreateBody, FeatureUpdateBody
from bxb.entitlements import InvalidError, NotFoundError
from bxb.entitlements.features import (
    create_feature,
    delete_feature,
    delete_privilege,
    find_feature,
    privileges_of,
    update_feature,
)
from bxb.lago_objects.features import feature_object
from bxb.models import Feature, Privilege

router = APIRouter(prefix="/api/v1", tags=["features"])


@contextmanager
def answering() -> Iterator[None]:
    """Lago's 404 and 422 for the entitlement services' errors. A concurrent request that
    wrote the same row first (a unique index) gets 422 `value_already_exist`."""
    try:
        yield
    except NotFoundError as exc:
        raise not_found(exc.resource) from None
    except InvalidError as exc:
        raise validation_error(exc.details) from None
    except IntegrityError:
        raise validation_error({"base": ["value_already_exist"]}) from None


async def _respond(session: SessionDep, feature: Feature) -> dict[str, Any]:
    return {"feature": feature_object(feature, await privileges_of(session, feature.id))}


@router.post("/features")
async def post_feature(body: FeatureCreateBody, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    data = body.feature
    with answering():
        feature = await create_feature(
            session, org.id, data.code, data.name, data.description, data.privileges
        )
        await session.commit()
    return await _respond(session, feature)


@router.get("/features")
async def list_features(
    org: OrgDep, session: SessionDep, page: PageDep, search_term: str | None = None
) -> dict[str, Any]:
    query = select(Feature).where(Feature.organization_id == org.id, Feature.deleted_at.is_(None))
    if search_term:
        pattern = "%" + search_term.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        pattern += "%"
        query = query.where(
            or_(
                Feature.name.ilike(pattern),
                Feature.code.ilike(pattern),
                Feature.description.ilike(pattern),
            )
        )
    features, meta = await paginate(
        session, query.order_by(Feature.created_at.desc(), Feature.id), page
    )
    privileges: dict[Any, list[Privilege]] = {f.id: [] for f in features}
    if features:
        rows = await session.scalars(
            select(Privilege)
            .where(Privilege.feature_id.in_(list(privileges)), Privilege.deleted_at.is_(None))
            .order_by(Privilege.created_at, Privilege.id)
        )
        for privilege in rows:
            privileges[privilege.feature_id].append(privilege)
    return {
        "features": [feature_object(f, privileges[f.id]) for f in features],
        "meta": meta.model_dump(),
    }


@router.get("/features/{code}")
async def get_feature(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    with answering():
        feature = await find_feature(session, org.id, code)
    return await _respond(session, feature)


@router.put("/features/{code}")
@router.patch("/features/{code}", include_in_schema=False)
async def put_feature(
    code: str, body: FeatureUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    with answering():
        feature = await find_feature(session, org.id, code)
        changes = body.feature.model_dump(exclude_unset=True)
        await update_feature(session, feature, changes)
        await session.commit()
    return await _respond(session, feature)


@router.delete("/features/{code}")
async def delete_feature_route(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    """Lago: the feature leaves every plan and subscription; the answer is the feature."""
    with answering():
        feature = await find_feature(session, org.id, code)
        answer = await _respond(session, feature)
        await delete_feature(session, feature)
        await session.commit()
    return answer


@router.delete("/features/{code}/privileges/{privilege_code}")
async def delete_feature_privilege(
    code: str, privilege_code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    """The privilege leaves the feature and every plan and subscription; the answer is the
    feature without it."""
    with answering():
        feature = await find_feature(session, org.id, code)
        await delete_privilege(session, feature, privilege_code)
        await session.commit()
    return await _respond(session, feature)
