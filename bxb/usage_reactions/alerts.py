"""The alerts reaction: read a subscription's usage alerts and fire what new usage crossed.

Values, as Lago computes them (taxes never count):
- current_usage_amount: the current period's usage amount, in cents;
- billable_metric_current_usage_amount / _units: the largest amount (cents) / units among
  the plan's charges of that metric (an alert on a metric the plan does not charge waits);
- lifetime_usage_amount: the usage invoiced over the subscription's life (charge fees of
  its draft and finalized invoices) plus the current usage amount.

Each alert is read under its row lock, so `alert.triggered` goes out once per alert,
threshold and period however many signals and batches arrive together (see
bxb.ledger.alert_triggers). Nothing here is billed: the reaction returns no invoice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from bxb.billing.alerts import BILLABLE_METRIC_TYPES
from bxb.billing.usage import CustomerUsage, compute_customer_usage
from bxb.core.db import transaction
from bxb.events.period_usage import period_inputs
from bxb.events.store import EventStore
from bxb.ledger.alert_triggers import Reading, lock, read
from bxb.ledger.progressive import historical_usage_cents, invoiced_usage_cents
from bxb.models import UsageAlert
from bxb.usage_reactions.context import UsageContext
from bxb.usage_reactions.interest import Connection, EventTest, Interest, SubscriptionKey, any_event
from bxb.webhooks import outbox
from bxb.workflows.billing_requests import BillingResult


def _alerts(context: UsageContext) -> Select[UsageAlert]:
    return select(UsageAlert).where(
        UsageAlert.organization_id == context.organization_id,
        UsageAlert.subscription_external_id == context.external_id,
        UsageAlert.deleted_at.is_(None),
    )


async def has_alerts(session: AsyncSession, context: UsageContext) -> bool:
    found = await session.scalar(_alerts(context).with_only_columns(UsageAlert.id).limit(1))
    return found is not None


async def current_usage(events: EventStore, context: UsageContext) -> CustomerUsage:
    """The current period's usage so far, without taxes (as Lago's alerting reads it)."""
    plan = context.plan
    charges = [charge.usage_charge() for charge in plan.charges]
    inputs = await period_inputs(
        events,
        context.organization_id,
        context.external_id,
        charges,
        context.usage_from,
        context.period_end,
    )
    return compute_customer_usage(
        charges,
        inputs.events,
        context.usage_from,
        context.period_end,
        context.currency,
        measured=inputs.measured,
    )


async def lifetime_usage_cents(session: AsyncSession, context: UsageContext) -> int:
    """The subscription's lifetime usage before the open period: historical (set through
    the API) and invoiced, as its lifetime usage object counts them."""
    org, external_id = context.organization_id, context.external_id
    historical = await historical_usage_cents(session, org, external_id)
    invoiced = await invoiced_usage_cents(session, org, external_id, run_of=context.subscription_id)
    return historical + invoiced


def value_of(alert: UsageAlert, usage: CustomerUsage, lifetime_cents: int | None) -> Decimal | None:
    """The alert's value now; None when there is none to read (a metric not charged)."""
    if alert.alert_type == "current_usage_amount":
        return Decimal(usage.amount_cents)
    if alert.alert_type == "lifetime_usage_amount":
        return Decimal(lifetime_cents or 0) + Decimal(usage.amount_cents)
    if alert.alert_type in BILLABLE_METRIC_TYPES:
        metric_id = str(alert.billable_metric_id)
        charges = [u for u in usage.charges_usage if u.charge.billable_metric_id == metric_id]
        if not charges:
            return None
        if alert.alert_type == "billable_metric_current_usage_units":
            return max(u.units for u in charges)
        return Decimal(max(u.amount_cents for u in charges))
    return None


async def react(
    sessions: async_sessionmaker[AsyncSession], events: EventStore, context: UsageContext
) -> list[BillingResult]:
    async with sessions() as session:
        if not await has_alerts(session, context):
            return []  # the common case costs one indexed lookup
    usage = await current_usage(events, context)
    webhook_ids: list[uuid.UUID] = []
    async with transaction(sessions) as session:
        alerts = await lock(session, _alerts(context))
        lifetime = None
        if any(a.alert_type == "lifetime_usage_amount" for a in alerts):
            lifetime = await lifetime_usage_cents(session, context)
        for alert in alerts:
            value = value_of(alert, usage, lifetime)
            if value is None:
                continue
            reading = Reading(
                value=value,
                at=context.now,
                external_customer_id=context.external_customer_id,
                period_key=context.period_start.isoformat(),
                subscription_id=context.subscription_id,
            )
            webhook_ids += await read(session, alert, reading)
    if webhook_ids and activity.in_activity():
        await outbox.dispatch(activity.client(), webhook_ids)
    return []


# Active subscriptions with alerts: any of their events may move a value an alert reads.
_WITH_ALERTS = """
SELECT DISTINCT a.organization_id, a.subscription_external_id
FROM usage_monitoring_alerts a
JOIN unnest($1::uuid[], $2::text[]) AS k(organization_id, external_id)
  ON a.organization_id = k.organization_id AND a.subscription_external_id = k.external_id
JOIN subscriptions s
  ON s.organization_id = a.organization_id AND s.external_id = a.subscription_external_id
WHERE a.deleted_at IS NULL AND s.status = 'active'
"""


async def _with_alerts(
    conn: Connection, keys: Sequence[SubscriptionKey]
) -> dict[SubscriptionKey, EventTest]:
    rows = await conn.fetch(_WITH_ALERTS, [k[0] for k in keys], [k[1] for k in keys])
    return {(r[0], r[1]): any_event for r in rows}


WITH_ALERTS = Interest("usage_alerts", _with_alerts)
