"""/api/v1/test_clocks: simulated time for rehearsing billing (a bxb extension, as Stripe's).

Customers are attached at creation (`test_clock_id`). Advancing a clock sends every live
subscription of its customers an update that moves their "now"; each processes, in order,
everything due up to then, and the call returns when all are done.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import ApiError, not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.core.subscriptions import LIVE_STATUSES, advance_workflows
from bxb.core.temporal import TemporalUnavailable
from bxb.inputs.bounds import AwareInstant
from bxb.lago_objects.test_clocks import test_clock_object
from bxb.models import Customer, Organization, Subscription, TestClock

router = APIRouter(prefix="/api/v1", tags=["test_clocks"])


class TestClockCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    frozen_time: AwareInstant


class TestClockCreateBody(BaseModel):
    test_clock: TestClockCreate


class TestClockAdvance(BaseModel):
    frozen_time: AwareInstant


class TestClockAdvanceBody(BaseModel):
    test_clock: TestClockAdvance


async def _get(session: SessionDep, org: Organization, lago_id: str) -> TestClock:
    try:
        clock_id = uuid.UUID(lago_id)
    except ValueError:
        raise not_found("test_clock") from None
    clock = await session.get(TestClock, clock_id)
    if clock is None or clock.organization_id != org.id:
        raise not_found("test_clock")
    return clock


@router.post("/test_clocks")
async def create_test_clock(
    body: TestClockCreateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    clock = TestClock(
        organization_id=org.id, name=body.test_clock.name, frozen_time=body.test_clock.frozen_time
    )
    session.add(clock)
    await session.commit()
    return {"test_clock": test_clock_object(clock)}


@router.get("/test_clocks")
async def list_test_clocks(org: OrgDep, session: SessionDep, page: PageDep) -> dict[str, Any]:
    query = select(TestClock).where(TestClock.organization_id == org.id)
    rows, meta = await paginate(session, query.order_by(TestClock.created_at), page)
    return {"test_clocks": [test_clock_object(c) for c in rows], "meta": meta.model_dump()}


@router.get("/test_clocks/{lago_id}")
async def get_test_clock(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return {"test_clock": test_clock_object(await _get(session, org, lago_id))}


async def _live_workflows(session: SessionDep, clock: TestClock) -> list[str]:
    rows = await session.scalars(
        select(Subscription.workflow_id)
        .join(Customer, Customer.id == Subscription.customer_id)
        .where(Customer.test_clock_id == clock.id, Subscription.status.in_(LIVE_STATUSES))
        .distinct()
    )
    return sorted(rows)


@router.delete("/test_clocks/{lago_id}")
async def delete_test_clock(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    clock = await _get(session, org, lago_id)
    if await _live_workflows(session, clock):
        raise validation_error({"test_clock": ["has_live_subscriptions"]})
    body = {"test_clock": test_clock_object(clock)}
    await session.delete(clock)
    await session.commit()
    return body


@router.post("/test_clocks/{lago_id}/advance")
async def advance_test_clock(
    lago_id: str,
    body: TestClockAdvanceBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    clock = await _get(session, org, lago_id)
    to = body.test_clock.frozen_time
    if to < clock.frozen_time:
        raise validation_error({"frozen_time": ["time_only_moves_forward"]})
    workflows = await _live_workflows(session, clock)
    client = await temporal.client()
    clock.status = "advancing"
    await session.commit()
    limit = timedelta(seconds=settings.test_clock_advance_timeout)
    try:
        failures = await advance_workflows(client, workflows, to, limit)
    except TemporalUnavailable as exc:  # Temporal unreachable until the limit: try again
        clock.status = "failed"
        clock.failure = exc.reason[:2000]
        await session.commit()
        raise
    if failures:
        clock.status = "failed"
        clock.failure = "; ".join(f"{wf}: {why}" for wf, why in sorted(failures.items()))[:2000]
        await session.commit()
        raise ApiError(
            422,
            code="test_clock_advance_failed",
            error="Unprocessable Entity",
            error_details={
                "subscriptions": {_external_id(wf): why for wf, why in failures.items()}
            },
        )
    clock.frozen_time = to
    clock.status = "ready"
    clock.failure = None
    await session.commit()
    return {"test_clock": test_clock_object(clock)}


def _external_id(wf_id: str) -> str:
    """subscription/<organization>/<external_id> → external_id."""
    return wf_id.split("/", 2)[-1]
