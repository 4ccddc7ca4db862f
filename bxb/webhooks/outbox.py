"""The webhook outbox.

`emit` writes one delivery row per endpoint of the organization that listens to the event,
in the caller's transaction, so a webhook exists if and only if the change it reports was
committed. It is idempotent on (endpoint, webhook_type, object_id): emitting twice returns
the same rows. `dispatch` (after the commit) starts one delivery workflow per row; starting
twice is a no-op, even after the delivery finished, so callers may dispatch the same ids
again after a crash or retry. `redispatch_pending` catches rows whose dispatch never
happened (a crash between commit and dispatch).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from bxb.core.settings import Settings
from bxb.models import Webhook, WebhookEndpoint
from bxb.models.base import utcnow
from bxb.webhooks.payloads import envelope
from bxb.workflows.webhook_delivery import (
    DeliveryPolicy,
    WebhookDelivery,
    WebhookDeliveryWorkflow,
    workflow_id,
)

REDISPATCH_BATCH = 500


async def listeners(
    session: AsyncSession, organization_id: uuid.UUID, webhook_type: str
) -> list[uuid.UUID]:
    """The organization's endpoints that want webhook_type (callers skip building a payload
    nobody listens to)."""
    ids = await session.scalars(
        select(WebhookEndpoint.id).where(
            WebhookEndpoint.organization_id == organization_id,
            or_(
                WebhookEndpoint.event_types.is_(None),
                WebhookEndpoint.event_types.contains([webhook_type]),
            ),
        )
    )
    return list(ids.all())


async def emit(
    session: AsyncSession,
    organization_id: uuid.UUID,
    webhook_type: str,
    object_id: uuid.UUID,
    payload: dict[str, Any],
    *,
    endpoint_ids: list[uuid.UUID] | None = None,
) -> list[uuid.UUID]:
    """Queue payload, the object under its key (e.g. {"invoice": {...}}), for delivery.

    The stored body is Lago's envelope: webhook_type, object_type, organization_id and the
    object. Returns the delivery ids (none when the organization has no listening endpoint).
    `endpoint_ids` are the `listeners` when the caller looked them up already.
    """
    object_type, body = envelope(webhook_type, organization_id, payload)
    if endpoint_ids is None:
        endpoint_ids = await listeners(session, organization_id, webhook_type)
    if not endpoint_ids:
        return []
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "organization_id": organization_id,
            "webhook_endpoint_id": endpoint_id,
            "webhook_type": webhook_type,
            "object_type": object_type,
            "object_id": object_id,
            "payload": body,
            "status": "pending",
            "retries": 0,
            "manual_retries": 0,
            "created_at": now,
            "updated_at": now,
        }
        for endpoint_id in endpoint_ids
    ]
    await session.execute(insert(Webhook).values(rows).on_conflict_do_nothing())
    ids = await session.scalars(
        select(Webhook.id)
        .where(
            Webhook.webhook_endpoint_id.in_(endpoint_ids),
            Webhook.webhook_type == webhook_type,
            Webhook.object_id == object_id,
        )
        .order_by(Webhook.created_at, Webhook.id)
    )
    return list(ids.all())


async def undelivered(session: AsyncSession, object_id: uuid.UUID) -> list[uuid.UUID]:
    """Pending deliveries about object_id (to dispatch again when a dispatch was missed)."""
    ids = await session.scalars(
        select(Webhook.id)
        .where(Webhook.object_id == object_id, Webhook.status == "pending")
        .order_by(Webhook.created_at, Webhook.id)
    )
    return list(ids.all())


def policy_from_settings(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        initial_interval_seconds=settings.webhook_retry_initial_interval,
        maximum_attempts=settings.webhook_max_attempts,
        request_timeout_seconds=settings.webhook_timeout,
    )


@dataclass
class _Defaults:
    settings: Settings | None = None


# The process's settings, when it registered them (see `configure`); else the environment's.
_defaults = _Defaults()


def configure(settings: Settings) -> None:
    """Make settings' task queue and retry schedule the defaults of dispatch in this process.

    The API calls it at start-up; without it the environment's settings apply, which is the
    same thing in a deployed process but not in tests that pick their own task queue.
    """
    _defaults.settings = settings


def _settings() -> Settings:
    return _defaults.settings or Settings()


def resolve_task_queue(task_queue: str | None) -> str:
    """The given queue; inside an activity, the worker's own; else the configured one."""
    if task_queue is not None:
        return task_queue
    if activity.in_activity():
        return activity.info().task_queue
    return _settings().temporal_task_queue


async def start_delivery(
    client: Client,
    webhook_id: uuid.UUID,
    *,
    manual_retries: int = 0,
    task_queue: str | None = None,
    policy: DeliveryPolicy | None = None,
) -> None:
    """Start the delivery workflow of one row, unless it runs or ran already."""
    # Delivered (or given up) before: a re-dispatch changes nothing.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            WebhookDeliveryWorkflow.run,
            WebhookDelivery(webhook_id, policy or policy_from_settings(_settings())),
            id=workflow_id(webhook_id, manual_retries),
            task_queue=resolve_task_queue(task_queue),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )


async def dispatch(
    client: Client,
    webhook_ids: Sequence[uuid.UUID],
    *,
    task_queue: str | None = None,
    policy: DeliveryPolicy | None = None,
) -> None:
    """Start delivery of the given rows (idempotent). Call after the emitting commit.

    task_queue defaults to the calling activity's queue, else TEMPORAL_TASK_QUEUE; policy
    defaults to the BXB_WEBHOOK_* settings.
    """
    for webhook_id in webhook_ids:
        await start_delivery(client, webhook_id, task_queue=task_queue, policy=policy)


async def redispatch_pending(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    older_than: timedelta,
    *,
    task_queue: str | None = None,
    policy: DeliveryPolicy | None = None,
) -> int:
    """Dispatch every pending row created more than older_than ago; returns how many.

    Rows whose workflow runs or ran already are untouched (dispatch is idempotent), so this
    is safe to call at every worker start-up.
    """
    cutoff = utcnow() - older_than
    count = 0
    after = (utcnow() - timedelta(days=36500), uuid.UUID(int=0))
    while True:
        async with sessions() as session:
            batch = (
                await session.execute(
                    select(Webhook.created_at, Webhook.id, Webhook.manual_retries)
                    .where(
                        Webhook.status == "pending",
                        Webhook.created_at <= cutoff,
                        tuple_(Webhook.created_at, Webhook.id) > tuple_(*after),
                    )
                    .order_by(Webhook.created_at, Webhook.id)
                    .limit(REDISPATCH_BATCH)
                )
            ).all()
        # A batch's starts go out together: thousands of rows take seconds, not minutes.
        await asyncio.gather(
            *(
                start_delivery(
                    client,
                    webhook_id,
                    manual_retries=manual_retries,
                    task_queue=task_queue,
                    policy=policy,
                )
                for _created_at, webhook_id, manual_retries in batch
            )
        )
        count += len(batch)
        if len(batch) < REDISPATCH_BATCH:
            return count
        after = (batch[-1][0], batch[-1][1])
