"""Fee estimates of pay-in-advance charges: what an event would be billed, stored nothing.

- `estimate_fees` (Lago's `Fees::EstimatePayInAdvanceService`): the fee the usage reaction
  would write for one more event now, priced as `bxb.billing.instant_fees` prices every
  in-advance event: the difference it makes to the period's usage (the events of the
  charges window so far count before it), taxed like a written fee. The context is the
  subscription's workflow state (`live_context`), as the reaction's is.
- `instant_estimates` (Lago's `Fees::EstimateInstant::*`): the event's units alone on each
  standard or percentage pay-in-advance charge (`bxb.billing.instant_estimates`), from the
  subscription's current plan; no workflow involved.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from bxb.billing.aggregation import PropertyValue, UsageEvent
from bxb.billing.filters import DEFAULT_BUCKET, assign_events_to_filters
from bxb.billing.instant_estimates import ESTIMABLE_MODELS, estimate_instant, event_units
from bxb.billing.instant_fees import instant_fees
from bxb.billing.taxes import TaxableFee, compute_fee_tax
from bxb.core.subscriptions import live_rows, plan_snapshot, query_view
from bxb.core.tax_book import TaxBook
from bxb.events.store import EventStore
from bxb.lago_objects.fee_estimates import EstimatedCharge, fee_estimate_object
from bxb.ledger.instant_fees import Subject, fee_row
from bxb.models import Fee, Plan, Subscription
from bxb.usage_reactions.context import UsageContext
from bxb.workflows.state import ChargeSnapshot

ESTIMATED_STATUSES = ("active", "paused")


class NoSubscriptionError(LookupError):
    """No live subscription with that external id (Lago: 404 subscription_not_found)."""


class NoInstantChargeError(ValueError):
    """No pay-in-advance charge to estimate (Lago: 422 code does_not_match_an_instant_charge)."""


@dataclass(frozen=True)
class EstimatedEvent:
    code: str
    external_subscription_id: str
    properties: Mapping[str, PropertyValue]
    transaction_id: str | None = None


async def live_subscription(
    session: AsyncSession, organization_id: uuid.UUID, external_id: str
) -> Subscription:
    rows = [
        row
        for row in await live_rows(session, organization_id, external_id)
        if row.status in ESTIMATED_STATUSES
    ]
    if not rows:
        raise NoSubscriptionError(external_id)
    return rows[-1]


async def live_context(client: Client, row: Subscription, *, wait: float) -> UsageContext:
    """What the subscription's workflow would hand its usage reactions now."""
    state = (await query_view(client, row.workflow_id, wait=wait)).state
    assert state.period_start is not None
    assert state.period_end is not None
    assert state.usage_from is not None
    return UsageContext(
        organization_id=state.organization_id,
        customer_id=state.customer_id,
        external_customer_id=state.external_customer_id,
        external_id=state.external_id,
        subscription_id=state.segment.lago_id,
        timezone=state.timezone,
        currency=state.segment.plan.currency,
        plan=state.segment.plan,
        period_start=state.period_start,
        period_end=state.period_end,
        usage_from=state.usage_from,
        now=state.clock_time or datetime.now(UTC),
        paused=list(state.pauses),
    )


async def estimate_fees(
    sessions: async_sessionmaker[AsyncSession],
    events: EventStore,
    context: UsageContext,
    code: str,
    properties: Mapping[str, PropertyValue],
) -> list[Fee]:
    """The unsaved fees of one event of `code` at the subscription's now, one per
    pay-in-advance charge of the metric (taxed; no id, no invoice)."""
    charges = [
        c for c in context.plan.charges if c.pay_in_advance and c.billable_metric.code == code
    ]
    if not charges:
        raise NoInstantChargeError(code)
    subject = Subject(
        organization_id=context.organization_id,
        customer_id=context.customer_id,
        external_customer_id=context.external_customer_id,
        external_id=context.external_id,
        subscription_id=context.subscription_id,
        timezone=context.timezone,
        currency=context.currency,
        plan=context.plan,
        window_start=context.usage_from,
        window_end=context.period_end,
    )
    # Inside the window: an event now, or at its last instant once the period has run out.
    at = max(min(context.now, context.period_end - _MICROSECOND), context.usage_from)
    event = UsageEvent(timestamp=at, properties=dict(properties), transaction_id=str(uuid.uuid4()))
    # At the window's first instant nothing came before (and the store refuses an empty
    # period).
    before = (
        list(
            await events.fetch(
                context.organization_id, context.external_id, code, subject.window_start, at
            )
        )
        if at > subject.window_start
        else []
    )
    async with sessions() as session:
        taxes = await TaxBook.load(
            session, context.organization_id, context.customer_id, [context.plan]
        )
    fees = []
    for charge in charges:
        for computed in instant_fees(
            charge.usage_charge(),
            before,
            [event],
            subject.window_start,
            subject.window_end,
            context.currency,
        ):
            fee = fee_row(subject, charge, computed)
            applicable = taxes.for_charge(charge.id, context.plan.code)
            tax = compute_fee_tax(TaxableFee("fee", fee.amount_cents, applicable))
            fee.taxes_amount_cents, fee.taxes_rate = tax.taxes_amount_cents, tax.taxes_rate
            fee.taxes_precise_amount_cents = tax.precise_taxes_amount_cents
            fee.payment_status = "pending"
            fee.id = None  # type: ignore[assignment]  # never stored: Lago shows no lago_id
            fees.append(fee)
    return fees


async def instant_estimates(
    session: AsyncSession,
    organization_id: uuid.UUID,
    events: Sequence[EstimatedEvent],
    *,
    batch: bool = False,
) -> list[dict[str, Any]]:
    """Lago's FeeEstimateObjects of `events` (those of one subscription after another, in
    the order their subscriptions first appear, as Lago's batch groups them).

    NoInstantChargeError when the plan has no estimable charge: of the event's metric for
    one event, of any metric for a batch (whose events of other metrics give nothing)."""
    by_subscription: dict[str, list[EstimatedEvent]] = {}
    for one in events:
        by_subscription.setdefault(one.external_subscription_id, []).append(one)
    estimated: list[dict[str, Any]] = []
    for external_id, group in by_subscription.items():
        row = await live_subscription(session, organization_id, external_id)
        plan = await session.scalar(select(Plan).where(Plan.id == row.plan_id))
        assert plan is not None
        currency = plan.amount_currency
        charges = [
            c
            for c in plan_snapshot(plan).charges
            if c.pay_in_advance and c.charge_model in ESTIMABLE_MODELS
        ]
        if not charges or not (
            batch or any(c.billable_metric.code == group[0].code for c in charges)
        ):
            raise NoInstantChargeError(group[0].code)
        for one in group:
            transaction_id = one.transaction_id or str(uuid.uuid4())
            for charge in (c for c in charges if c.billable_metric.code == one.code):
                filter_index = _filter_of(charge, one, transaction_id)
                charge_filter = None if filter_index is None else charge.filters[filter_index]
                properties = charge_filter.properties if charge_filter else charge.properties
                units = event_units(charge.billable_metric.field_name, one.properties)
                estimated.append(
                    fee_estimate_object(
                        subscription_id=str(row.id),
                        external_subscription_id=row.external_id,
                        customer_id=str(row.customer_id),
                        external_customer_id=row.external_customer_id,
                        charge=EstimatedCharge(
                            charge_id=str(charge.id),
                            invoice_display_name=charge.invoice_display_name,
                            invoiceable=charge.invoiceable,
                            metric_id=str(charge.billable_metric.id),
                            metric_code=charge.billable_metric.code,
                            metric_name=charge.billable_metric.name,
                            filter_id=str(charge_filter.id) if charge_filter else None,
                            filter_values=charge_filter.values if charge_filter else None,
                            filter_invoice_display_name=(
                                charge_filter.invoice_display_name if charge_filter else None
                            ),
                        ),
                        estimate=estimate_instant(charge.charge_model, properties, units, currency),
                        currency=currency,
                        transaction_id=transaction_id,
                    )
                )
    return estimated


def _filter_of(charge: ChargeSnapshot, one: EstimatedEvent, transaction_id: str) -> int | None:
    event = UsageEvent(datetime.now(UTC), dict(one.properties), transaction_id)
    placed = assign_events_to_filters([event], charge.usage_charge().filters)
    return next((index for index, found in placed.items() if found), DEFAULT_BUCKET)


_MICROSECOND = datetime.resolution
