"""Rows of subscription_pauses, written in the transaction of the pause's own step.

The workflow says what happened (a BillingRequest of kind pause, resume, an update while
paused, a termination); this keeps one row per pause in step with it. Idempotent: the
row of a pause is unique on its start, and ending or moving it twice changes nothing.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import SubscriptionPause
from bxb.workflows.billing_requests import BillingRequest

# Kinds of steps that end an open pause with the subscription.
ENDING_KINDS = ("resume", "termination")


async def record_pause(session: AsyncSession, request: BillingRequest) -> None:
    if not request.rows:
        return
    row = request.rows[-1]  # the current segment
    if request.kind == "pause":
        statement = insert(SubscriptionPause).values(
            organization_id=request.organization_id,
            subscription_id=row.lago_id,
            external_id=request.external_id,
            started_at=request.at,
            resume_at=row.resume_at,
        )
        await session.execute(
            statement.on_conflict_do_nothing(
                index_elements=["organization_id", "external_id", "started_at"]
            )
        )
        return
    open_pause = update(SubscriptionPause).where(
        SubscriptionPause.organization_id == request.organization_id,
        SubscriptionPause.external_id == request.external_id,
        SubscriptionPause.ended_at.is_(None),
        SubscriptionPause.started_at <= request.at,
    )
    if request.kind in ENDING_KINDS:
        await session.execute(open_pause.values(ended_at=request.at))
    elif row.paused_at is not None:  # still paused: the resume may have moved
        await session.execute(open_pause.values(resume_at=row.resume_at))
