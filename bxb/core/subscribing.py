"""Subscribing a customer to a plan: the rules of Lago's `POST /subscriptions`, below the
router that finds the customer and the plan.

A new external_id starts the subscription's workflow (update-with-start). A live one on
another plan moves to it through its workflow (an upgrade at once, a downgrade at the
period's end); on the same plan nothing changes and the subscription is answered as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.core.settings import Settings
from bxb.core.subscriptions import change_plan, initial_state, pinned_snapshot, start_subscription
from bxb.core.temporal import TemporalConnector
from bxb.core.workflow_calls import WorkflowRequestError
from bxb.lago_objects.errors import ApiError, not_found, validation_error
from bxb.models import Customer, Organization, Plan, Subscription, TestClock
from bxb.workflows.state import CreateRequest


@dataclass(frozen=True)
class SubscriptionTerms:
    """What the request asks of the subscription, beside its customer and plan."""

    external_id: str
    name: str | None = None
    billing_time: str = "calendar"
    subscription_at: datetime | None = None
    ending_at: datetime | None = None


def refusal(exc: WorkflowRequestError) -> ApiError:
    """A workflow's refusal of a request, as Lago's 422 on the subscription."""
    return validation_error({"subscription": [str(exc)]})


async def shown_subscription(
    session: AsyncSession, organization_id: uuid.UUID, external_id: str
) -> Subscription:
    """The row a GET shows: the active (or paused) one, else pending, else the latest
    ended one; 404 subscription_not_found.

    Read afresh: the workflow's activity has just written it in another transaction.
    """
    rows = list(
        await session.scalars(
            select(Subscription)
            .where(
                Subscription.organization_id == organization_id,
                Subscription.external_id == external_id,
            )
            .order_by(Subscription.updated_at.desc())
            .execution_options(populate_existing=True)
        )
    )
    for status in ("active", "paused", "pending"):
        for row in rows:
            if row.status == status:
                return row
    if not rows:
        raise not_found("subscription")
    return rows[0]


async def subscribe(
    session: AsyncSession,
    temporal: TemporalConnector,
    settings: Settings,
    *,
    organization: Organization,
    customer: Customer,
    plan: Plan,
    currency: str,
    live: list[Subscription],
    terms: SubscriptionTerms,
    own_plan: Callable[[], Awaitable[Plan]] | None = None,
) -> Subscription:
    """Start the subscription, or change the plan of the live one (`live`, oldest first),
    and return the row a GET shows.

    `currency` is what the subscription bills in (the plan's, or its override's).
    `own_plan` writes the subscription's own child plan from the request's plan_overrides
    (uncommitted; it may answer 422). It is called only when the subscription starts or
    changes plan, after every check that needs no write, and committed here with the
    currency the customer's first subscription fixes: a refusal writes nothing.
    """
    if customer.currency is not None and customer.currency != currency:
        raise validation_error({"currency": ["currencies_does_not_match"]})
    if live and live[0].external_customer_id != customer.external_id:
        raise validation_error({"external_id": ["value_already_exist"]})
    if not live:
        clock_time = await _clock_time(session, customer)
        now = clock_time or datetime.now(UTC)
        starts_at = terms.subscription_at or now
        # As in Lago: an end after the start, and not in the past (even when backdated).
        if terms.ending_at is not None and terms.ending_at <= max(starts_at, now):
            raise validation_error({"ending_at": ["invalid_date"]})
    if own_plan is not None and (not live or live[0].plan_code != plan.code):
        plan = await own_plan()  # Lago: the overrides make a plan of the subscription's own
    if customer.currency is None:
        customer.currency = currency  # the first subscription fixes it (Lago)
    await session.commit()
    if plan.parent_id is not None:
        # The override plan was written in this session: read it whole, children included.
        session.expunge(plan)
        reloaded = await session.get(Plan, plan.id)
        assert reloaded is not None
        plan = reloaded
    client = await temporal.client()  # after the checks: a 422 needs no Temporal
    wait = settings.workflow_update_timeout
    snapshot = await pinned_snapshot(session, plan)
    try:
        if live:
            if live[0].plan_code != plan.code:
                await change_plan(
                    client, live[0], plan, name=terms.name, wait=wait, session=session
                )
        else:
            state = initial_state(
                organization=organization,
                customer=customer,
                plan=snapshot,
                external_id=terms.external_id,
                name=terms.name,
                billing_time=terms.billing_time,
                subscription_at=starts_at,
                ending_at=terms.ending_at,
                clock_time=clock_time,
            )
            request = CreateRequest(plan=snapshot, name=terms.name, ending_at=terms.ending_at)
            # Nothing is pending: end the read transaction so that its connection goes back
            # to the pool while the workflow starts (up to the wait, under load).
            await session.commit()
            await start_subscription(
                client, settings.temporal_task_queue, state, request, wait=wait
            )
    except WorkflowRequestError as exc:
        raise refusal(exc) from exc
    return await shown_subscription(session, organization.id, terms.external_id)


async def _clock_time(session: AsyncSession, customer: Customer) -> datetime | None:
    """The frozen time of the customer's test clock; None off a clock."""
    if customer.test_clock_id is None:
        return None
    clock = await session.get(TestClock, customer.test_clock_id)
    if clock is None:
        raise validation_error({"test_clock_id": ["test_clock_not_found"]})
    return clock.frozen_time
