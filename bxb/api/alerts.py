"""/api/v1/subscriptions/{external_id}/alerts: usage alerts (Lago's six operations).

Alerts follow the subscription's external id (so they survive plan changes); the
subscription is looked up with `subscription_status` (default active), as Lago does. The
rules and error codes live in bxb.ledger.alerts; what fires them in
bxb.usage_reactions.alerts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.lago_objects.alerts import alert_object
from bxb.ledger import alerts as rules
from bxb.ledger.alerts import AlertInvalidError, AlertNotFoundError, Owner
from bxb.models import BillableMetric, Subscription, UsageAlert, Wallet
from bxb.models.base import utcnow
from bxb.usage_reactions.watcher import forget_interests

router = APIRouter(prefix="/api/v1", tags=["alerts"])

StatusQuery = Annotated[
    Literal["pending", "active", "terminated", "canceled"], Query(alias="subscription_status")
]
JsonBody = Annotated[dict[str, Any], Body()]

# The documented shapes of the bodies (Lago's AlertCreateInput and AlertBatchCreateInput,
# AlertUpdateInput): the routes take any JSON object and answer Lago's codes themselves.
_THRESHOLD = {
    "type": "object",
    "required": ["value"],
    "properties": {
        "code": {"type": ["string", "null"]},
        "value": {"type": ["string", "number"]},
        "recurring": {"type": "boolean"},
    },
}
_ALERT = {
    "type": "object",
    "properties": {
        "alert_type": {"type": "string"},
        "code": {"type": "string"},
        "name": {"type": ["string", "null"]},
        "billable_metric_code": {"type": ["string", "null"]},
        "thresholds": {"type": "array", "items": _THRESHOLD},
    },
}


def _documented(properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# One alert under "alert", or several under "alerts".
CREATE_BODY = _documented({"alert": _ALERT, "alerts": {"type": "array", "items": _ALERT}})
UPDATE_BODY = _documented({"alert": _ALERT})


async def subscription_owner(
    session: AsyncSession, organization_id: Any, external_id: str, status: str
) -> Owner:
    found = await session.scalar(
        select(Subscription.id).where(
            Subscription.organization_id == organization_id,
            Subscription.external_id == external_id,
            Subscription.status == status,
        )
    )
    if found is None:
        raise not_found("subscription")
    return Owner(organization_id=organization_id, subscription_external_id=external_id)


def rejected(exc: AlertInvalidError | AlertNotFoundError) -> ApiError:
    if isinstance(exc, AlertNotFoundError):
        return not_found(exc.resource)
    return validation_error(exc.details)


def missing(key: str) -> ApiError:
    return ApiError(400, error=f"BadRequest: param is missing or the value is empty: {key}")


async def render(session: AsyncSession, alert: UsageAlert) -> dict[str, Any]:
    metric = wallet = None
    if alert.billable_metric_id is not None:
        metric = await session.get(BillableMetric, alert.billable_metric_id)
    if alert.wallet_id is not None:
        wallet = await session.get(Wallet, alert.wallet_id)
    return alert_object(alert, metric, wallet)


async def list_alerts(session: AsyncSession, owner: Owner, page: PageDep) -> dict[str, Any]:
    query = rules.kept_alerts(owner).order_by(UsageAlert.created_at, UsageAlert.id)
    rows, meta = await paginate(session, query, page)
    return {
        "alerts": [await render(session, alert) for alert in rows],
        "meta": meta.model_dump(),
    }


def usage_changed(request: Request, owner: Owner) -> None:
    """Have the subscription's workflow read its alerts now (Lago processes a created or
    changed alert at once): usage already past a new threshold fires without waiting for
    the next event."""
    forget_interests()  # the watcher signals this subscription's events from now on
    watcher = getattr(request.app.state, "usage_watcher", None)
    if watcher is not None and owner.subscription_external_id is not None:
        watcher.poke((owner.organization_id, owner.subscription_external_id))


async def create_alerts(
    session: AsyncSession, owner: Owner, body: dict[str, Any]
) -> dict[str, Any]:
    """One alert ({"alert": {...}}) or several at once ({"alerts": [...]}, all or none)."""
    now = utcnow()
    batch = body.get("alerts")
    if batch is not None:
        if not isinstance(batch, list) or not batch:
            raise missing("alert")
        created, errors = [], {}
        for index, params in enumerate(batch):
            if not isinstance(params, dict):
                errors[str(index)] = {"params": params, "errors": {"alert": ["value_is_invalid"]}}
                continue
            try:
                async with session.begin_nested():
                    # One instant each, in order: lists show a batch as it was sent.
                    at = now + timedelta(microseconds=index)
                    created.append(await rules.create_alert(session, owner, params, at))
            except (AlertInvalidError, AlertNotFoundError) as exc:
                details = (
                    exc.details
                    if isinstance(exc, AlertInvalidError)
                    else {exc.resource: [f"{exc.resource}_not_found"]}
                )
                errors[str(index)] = {"params": params, "errors": details}
        if errors:
            await session.rollback()
            raise ApiError(
                422, code="validation_errors", error="Unprocessable Entity", error_details=errors
            )
        await session.commit()
        return {"alerts": [alert_object(a, m, owner.wallet) for a, m in created]}
    params = body.get("alert")
    if not isinstance(params, dict) or not params:
        raise missing("alert")
    try:
        alert, metric = await rules.create_alert(session, owner, params, now)
    except (AlertInvalidError, AlertNotFoundError) as exc:
        raise rejected(exc) from exc
    await session.commit()
    return {"alert": alert_object(alert, metric, owner.wallet)}


async def update_alert(
    session: AsyncSession, owner: Owner, code: str, body: dict[str, Any]
) -> dict[str, Any]:
    params = body.get("alert")
    if not isinstance(params, dict):
        raise missing("alert")
    try:
        alert = await rules.find_alert(session, owner, code)
        metric = await rules.update_alert(session, alert, params)
    except (AlertInvalidError, AlertNotFoundError) as exc:
        raise rejected(exc) from exc
    await session.commit()
    return {"alert": alert_object(alert, metric, owner.wallet)}


async def get_alert(session: AsyncSession, owner: Owner, code: str) -> dict[str, Any]:
    try:
        alert = await rules.find_alert(session, owner, code)
    except AlertNotFoundError as exc:
        raise rejected(exc) from exc
    return {"alert": await render(session, alert)}


async def delete_alert(session: AsyncSession, owner: Owner, code: str) -> dict[str, Any]:
    try:
        alert = await rules.find_alert(session, owner, code)
    except AlertNotFoundError as exc:
        raise rejected(exc) from exc
    alert.deleted_at = utcnow()
    answer = {"alert": await render(session, alert)}
    await session.commit()
    return answer


async def delete_all(session: AsyncSession, owner: Owner) -> dict[str, Any]:
    await rules.delete_all(session, owner, utcnow())
    await session.commit()
    return {}


@router.get("/subscriptions/{external_id}/alerts")
async def list_subscription_alerts(
    external_id: str,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    subscription_status: StatusQuery = "active",
) -> dict[str, Any]:
    owner = await subscription_owner(session, org.id, external_id, subscription_status)
    return await list_alerts(session, owner, page)


@router.post("/subscriptions/{external_id}/alerts", openapi_extra=CREATE_BODY)
async def create_subscription_alerts(
    external_id: str,
    body: JsonBody,
    request: Request,
    org: OrgDep,
    session: SessionDep,
    subscription_status: StatusQuery = "active",
) -> dict[str, Any]:
    owner = await subscription_owner(session, org.id, external_id, subscription_status)
    answer = await create_alerts(session, owner, body)
    usage_changed(request, owner)
    return answer


@router.delete("/subscriptions/{external_id}/alerts")
async def delete_subscription_alerts(
    external_id: str,
    org: OrgDep,
    session: SessionDep,
    subscription_status: StatusQuery = "active",
) -> dict[str, Any]:
    owner = await subscription_owner(session, org.id, external_id, subscription_status)
    return await delete_all(session, owner)


@router.get("/subscriptions/{external_id}/alerts/{code}")
async def get_subscription_alert(
    external_id: str,
    code: str,
    org: OrgDep,
    session: SessionDep,
    subscription_status: StatusQuery = "active",
) -> dict[str, Any]:
    owner = await subscription_owner(session, org.id, external_id, subscription_status)
    return await get_alert(session, owner, code)


@router.put("/subscriptions/{external_id}/alerts/{code}", openapi_extra=UPDATE_BODY)
async def update_subscription_alert(
    external_id: str,
    code: str,
    body: JsonBody,
    request: Request,
    org: OrgDep,
    session: SessionDep,
    subscription_status: StatusQuery = "active",
) -> dict[str, Any]:
    owner = await subscription_owner(session, org.id, external_id, subscription_status)
    answer = await update_alert(session, owner, code, body)
    usage_changed(request, owner)
    return answer


@router.delete("/subscriptions/{external_id}/alerts/{code}")
async def delete_subscription_alert(
    external_id: str,
    code: str,
    org: OrgDep,
    session: SessionDep,
    subscription_status: StatusQuery = "active",
) -> dict[str, Any]:
    owner = await subscription_owner(session, org.id, external_id, subscription_status)
    return await delete_alert(session, owner, code)
