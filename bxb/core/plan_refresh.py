"""Carrying a plan change made with ``cascade_updates`` to the running subscriptions.

Subscriptions pin a snapshot of their plan. A change made with ``cascade_updates`` (on the
plan's charges, filters or fixed charges) is sent, as the plan's new snapshot, to every
live subscription on the plan or on one of its children (plan_overrides copies); each
workflow takes it when its next period starts (bxb/workflows/plan_refresh.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.core.subscriptions import (
    LIVE_STATUSES,
    WorkflowRequestError,
    pinned_snapshot,
    send_update,
)
from bxb.core.temporal import TemporalConnector
from bxb.models import Plan, Subscription
from bxb.workflows.state import RefreshPlanRequest

log = logging.getLogger(__name__)


async def refresh_subscriptions(
    session: AsyncSession,
    temporal: TemporalConnector,
    organization_id: uuid.UUID,
    plan_ids: Iterable[uuid.UUID],
    *,
    wait: float,
) -> int:
    """Send each live subscription on these plans its plan's new snapshot; how many."""
    ids = set(plan_ids)
    rows = list(
        await session.scalars(
            select(Subscription).where(
                Subscription.organization_id == organization_id,
                Subscription.plan_id.in_(ids),
                Subscription.status.in_(LIVE_STATUSES),
            )
        )
    )
    targets = sorted({(row.workflow_id, row.plan_id) for row in rows})
    if not targets:
        return 0
    session.expunge_all()  # read the plans as just committed
    plans = {
        plan.id: plan
        for plan in await session.scalars(select(Plan).where(Plan.id.in_({p for _, p in targets})))
    }
    client = await temporal.client()
    sent = 0
    snapshots = {plan_id: await pinned_snapshot(session, plan) for plan_id, plan in plans.items()}
    for workflow_id, plan_id in targets:
        request = RefreshPlanRequest(plan=snapshots[plan_id])
        try:
            await send_update(client, workflow_id, "refresh_plan", request, wait=wait)
        except WorkflowRequestError as exc:  # ended meanwhile: nothing left to refresh
            log.info("plan refresh of %s refused: %s", workflow_id, exc)
            continue
        sent += 1
    return sent


async def plan_family(session: AsyncSession, plan: Plan) -> list[uuid.UUID]:
    """The plan and its live children (plan_overrides copies)."""
    children = await session.scalars(
        select(Plan.id).where(Plan.parent_id == plan.id, Plan.deleted_at.is_(None))
    )
    return [plan.id, *children]
