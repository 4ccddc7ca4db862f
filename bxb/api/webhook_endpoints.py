"""/api/v1/webhook_endpoints (Lago-compatible) and /api/v1/webhooks deliveries (bxb).

- Endpoints: Lago's create, list, get, update and delete by lago_id. At most 10 per
  organization (as Lago), one per URL. Deleting an endpoint deletes its deliveries.
- `GET /webhook_endpoints/signing_secret` (bxb extension) returns the organization's HMAC
  key, generated on first use; Lago shows it only in its UI.
- Signatures: `jwt` (Lago's default: RS256 with the deployment's key, see
  bxb.webhooks.rsa_keys) or `hmac`. `GET /webhooks/json_public_key` (and the deprecated
  `/webhooks/public_key`, plain text) serve the public key as Lago does.
- Deliveries (bxb extension): list with filters, get one with all its attempts, and retry
  a failed one (a new delivery workflow; attempts keep counting).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError

from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.webhooks import WebhookEndpointCreateBody, WebhookEndpointUpdateBody
from bxb.lago_objects.webhooks import webhook_endpoint_object, webhook_object
from bxb.models import Webhook, WebhookAttempt, WebhookEndpoint
from bxb.models.base import utcnow
from bxb.webhooks.keys import ensure_hmac_key
from bxb.webhooks.outbox import policy_from_settings, start_delivery
from bxb.webhooks.rsa_keys import public_key_base64

router = APIRouter(prefix="/api/v1", tags=["webhooks"])

MAX_ENDPOINTS = 10


def _uuid(value: str, resource: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(resource) from None


async def _endpoint(session: AsyncSession, org_id: uuid.UUID, lago_id: str) -> WebhookEndpoint:
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.organization_id == org_id,
            WebhookEndpoint.id == _uuid(lago_id, "webhook_endpoint"),
        )
    )
    if endpoint is None:
        raise not_found("webhook_endpoint")
    return endpoint


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError:  # the organization has an endpoint with this URL already
        await session.rollback()
        raise validation_error({"webhook_url": ["value_already_exist"]}) from None


def _respond(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"webhook_endpoint": webhook_endpoint_object(endpoint)}


@router.post("/webhook_endpoints")
async def create_webhook_endpoint(
    body: WebhookEndpointCreateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    data = body.webhook_endpoint
    # Serialize creations per organization so the limit holds under concurrency.
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(str(org.id)))))
    count = await session.scalar(
        select(func.count()).where(WebhookEndpoint.organization_id == org.id)
    )
    if (count or 0) >= MAX_ENDPOINTS:
        raise validation_error({"base": ["exceeded_limit"]})
    endpoint = WebhookEndpoint(
        organization_id=org.id,
        webhook_url=data.webhook_url,
        signature_algo=data.signature_algo or "jwt",  # Lago's default
        name=data.name,
        event_types=data.event_types,
    )
    session.add(endpoint)
    await _commit(session)
    return _respond(endpoint)


@router.get("/webhook_endpoints")
async def list_webhook_endpoints(org: OrgDep, session: SessionDep, page: PageDep) -> dict[str, Any]:
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organization_id == org.id)
        .order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc())
    )
    endpoints, meta = await paginate(session, query, page)
    return {
        "webhook_endpoints": [webhook_endpoint_object(e) for e in endpoints],
        "meta": meta.model_dump(),
    }


@router.get("/webhook_endpoints/signing_secret")
async def get_signing_secret(org: OrgDep, session: SessionDep) -> dict[str, Any]:
    key = await ensure_hmac_key(session, org.id)
    await session.commit()
    return {"webhook_signing_secret": {"signature_algo": "hmac", "secret": key}}


@router.get("/webhook_endpoints/{lago_id}")
async def get_webhook_endpoint(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return _respond(await _endpoint(session, org.id, lago_id))


@router.put("/webhook_endpoints/{lago_id}")
async def update_webhook_endpoint(
    lago_id: str, body: WebhookEndpointUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    endpoint = await _endpoint(session, org.id, lago_id)
    data = body.webhook_endpoint
    given = data.model_fields_set
    if "webhook_url" in given:
        if data.webhook_url is None:
            raise validation_error({"webhook_url": ["value_is_mandatory"]})
        endpoint.webhook_url = data.webhook_url
    if data.signature_algo is not None:
        endpoint.signature_algo = data.signature_algo
    if "name" in given:
        endpoint.name = data.name
    if "event_types" in given:
        endpoint.event_types = data.event_types
    await _commit(session)
    return _respond(endpoint)


@router.delete("/webhook_endpoints/{lago_id}")
async def delete_webhook_endpoint(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    endpoint = await _endpoint(session, org.id, lago_id)
    answer = _respond(endpoint)
    await session.delete(endpoint)
    await session.commit()
    return answer


# Deliveries (bxb extension).

Status = Literal["pending", "succeeded", "failed"]


async def _webhook_objects(session: AsyncSession, webhooks: list[Webhook]) -> list[dict[str, Any]]:
    ids = [w.id for w in webhooks]
    attempts: dict[uuid.UUID, list[WebhookAttempt]] = {i: [] for i in ids}
    for attempt in await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.webhook_id.in_(ids))
        .order_by(WebhookAttempt.attempt)
    ):
        attempts[attempt.webhook_id].append(attempt)
    rows = await session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.webhook_url).where(
            WebhookEndpoint.id.in_({w.webhook_endpoint_id for w in webhooks})
        )
    )
    urls: dict[uuid.UUID, str] = dict(rows.all())
    return [webhook_object(w, urls[w.webhook_endpoint_id], attempts[w.id]) for w in webhooks]


async def _webhook(session: AsyncSession, org_id: uuid.UUID, lago_id: str) -> Webhook:
    webhook = await session.scalar(
        select(Webhook).where(
            Webhook.organization_id == org_id, Webhook.id == _uuid(lago_id, "webhook")
        )
    )
    if webhook is None:
        raise not_found("webhook")
    return webhook


@router.get("/webhooks")
async def list_webhooks(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    status: Status | None = None,
    webhook_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: uuid.UUID | None = None,
    webhook_endpoint_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    query = select(Webhook).where(Webhook.organization_id == org.id)
    if status is not None:
        query = query.where(Webhook.status == status)
    if webhook_type is not None:
        query = query.where(Webhook.webhook_type == webhook_type)
    if object_id is not None:
        query = query.where(Webhook.object_id == object_id)
    if webhook_endpoint_id is not None:
        query = query.where(Webhook.webhook_endpoint_id == webhook_endpoint_id)
    query = query.order_by(Webhook.created_at.desc(), Webhook.id.desc())
    webhooks, meta = await paginate(session, query, page)
    return {"webhooks": await _webhook_objects(session, webhooks), "meta": meta.model_dump()}


# Declared before /webhooks/{lago_id}, which would take "public_key" for an id.
@router.get(
    "/webhooks/public_key",
    response_class=PlainTextResponse,
    deprecated=True,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def fetch_public_key(_: OrgDep, settings: SettingsDep) -> PlainTextResponse:
    """Base64 of the PEM public key that verifies jwt-signed webhooks (Lago's, deprecated)."""
    return PlainTextResponse(await asyncio.to_thread(public_key_base64, settings))


@router.get("/webhooks/json_public_key")
async def fetch_json_public_key(_: OrgDep, settings: SettingsDep) -> dict[str, Any]:
    """{"webhook": {"public_key": <base64 of the PEM public key>}}, as Lago."""
    key = await asyncio.to_thread(public_key_base64, settings)  # may make the key: off the loop
    return {"webhook": {"public_key": key}}


@router.get("/webhooks/{lago_id}")
async def get_webhook(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    webhook = await _webhook(session, org.id, lago_id)
    return {"webhook": (await _webhook_objects(session, [webhook]))[0]}


@router.post("/webhooks/{lago_id}/retry")
async def retry_webhook(
    lago_id: str,
    org: OrgDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> dict[str, Any]:
    webhook = await _webhook(session, org.id, lago_id)
    manual_retries = await session.scalar(
        update(Webhook)
        .where(Webhook.id == webhook.id, Webhook.status == "failed")
        .values(status="pending", manual_retries=Webhook.manual_retries + 1, updated_at=utcnow())
        .returning(Webhook.manual_retries)
    )
    if manual_retries is None:
        raise ApiError(405, code="webhook_not_failed")
    await session.commit()
    try:
        await start_delivery(
            await temporal.client(),
            webhook.id,
            manual_retries=manual_retries,
            task_queue=settings.temporal_task_queue,
            policy=policy_from_settings(settings),
        )
    except (RPCError, RuntimeError, OSError):
        # The row is pending again: the worker re-dispatches pending rows when it starts.
        raise ApiError(503, code="service_unavailable") from None
    await session.refresh(webhook)
    return {"webhook": (await _webhook_objects(session, [webhook]))[0]}
