"""The portal customer's subscriptions and the plans it may move to.

Every query filters on the token's organization and customer. Plan changes and
cancellations go to the subscription's workflow through the same functions as `/api/v1`
(`bxb.core.subscriptions.change_plan` and `end_at`), so they bill the same invoices.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from temporalio.client import Client

from bxb.core.subscriptions import change_plan, end_at, query_view
from bxb.models import Charge, Plan, Subscription
from bxb.portal.auth import PortalCustomer

SHOWN_STATUSES = ("active", "paused", "pending")


class PortalRefusalError(Exception):
    """A request the portal refuses: Lago's 422 with `code` on `field`."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(code)
        self.field = field
        self.code = code


def _own(portal: PortalCustomer) -> ColumnElement[bool]:
    return and_(
        Subscription.organization_id == portal.organization.id,
        Subscription.customer_id == portal.customer.id,
    )


async def subscriptions_of(
    session: AsyncSession, portal: PortalCustomer, statuses: tuple[str, ...] = SHOWN_STATUSES
) -> list[tuple[Subscription, Plan | None]]:
    rows = list(
        await session.scalars(
            select(Subscription)
            .where(_own(portal), Subscription.status.in_(statuses))
            .order_by(Subscription.created_at.desc(), Subscription.id)
            .execution_options(populate_existing=True)
        )
    )
    plans = {
        p.id: p
        for p in await session.scalars(
            select(Plan).where(
                Plan.organization_id == portal.organization.id,
                Plan.id.in_({r.plan_id for r in rows}),
            )
        )
    }
    return [(row, plans.get(row.plan_id)) for row in rows]


async def subscription_of(
    session: AsyncSession, portal: PortalCustomer, external_id: str
) -> tuple[Subscription, Plan | None] | None:
    """The row the customer's subscription shows (active or paused, else pending, else the
    latest ended one), or None when the customer has none with that external id."""
    rows = list(
        await session.scalars(
            select(Subscription)
            .where(_own(portal), Subscription.external_id == external_id)
            .order_by(Subscription.updated_at.desc())
            .execution_options(populate_existing=True)
        )
    )
    if not rows:
        return None
    ranked = sorted(rows, key=lambda r: {"active": 0, "paused": 0, "pending": 1}.get(r.status, 2))
    row = ranked[0]
    plan = await session.scalar(
        select(Plan).where(Plan.id == row.plan_id, Plan.organization_id == portal.organization.id)
    )
    return row, plan


def _offered(portal: PortalCustomer) -> Select[Plan]:
    query = (
        select(Plan)
        .where(
            Plan.organization_id == portal.organization.id,
            Plan.deleted_at.is_(None),
            Plan.parent_id.is_(None),  # a subscription's own overrides are not offered
        )
        .options(selectinload(Plan.charges).selectinload(Charge.billable_metric))
    )
    if portal.customer.currency is not None:
        query = query.where(Plan.amount_currency == portal.customer.currency)
    return query


async def offered_plans(session: AsyncSession, portal: PortalCustomer) -> list[Plan]:
    """The organization's plans in the customer's currency (any, before its first
    subscription fixes one)."""
    return list(await session.scalars(_offered(portal).order_by(Plan.amount_cents, Plan.code)))


async def change_to(
    session: AsyncSession,
    client: Client,
    portal: PortalCustomer,
    row: Subscription,
    plan_code: str,
    *,
    wait: float,
) -> None:
    """Upgrade (at once, prorated) or downgrade (at the period's end) to an offered plan."""
    if row.status not in ("active", "paused", "pending"):
        raise PortalRefusalError("subscription", "subscription_is_terminated")
    plan: Plan | None = (
        await session.scalars(_offered(portal).where(Plan.code == plan_code))
    ).first()
    if plan is None:
        raise PortalRefusalError("plan_code", "plan_not_found")
    current = await session.get(Plan, row.plan_id)
    if plan.code == row.plan_code or (current is not None and current.parent_id == plan.id):
        raise PortalRefusalError("plan_code", "same_plan")
    await change_plan(client, row, plan, wait=wait, session=session)


async def cancel_at_period_end(client: Client, row: Subscription, *, wait: float) -> None:
    """End the subscription when its current period ends (its `ending_at`, as
    `PUT /subscriptions` sets it): the period is billed as usual, then it terminates."""
    if row.status not in ("active", "paused"):
        raise PortalRefusalError("subscription", f"subscription_is_{row.status}")
    state = (await query_view(client, row.workflow_id, wait=wait)).state
    if state.period_end is None:
        raise PortalRefusalError("subscription", "subscription_not_started")
    await end_at(client, row, state.period_end, wait=wait)
