"""Minimums on subscription invoices: charge true-ups and the plan's minimum commitment.

The amounts are decided by the pure core (bxb.billing.commitments); here are the fees'
shapes (Lago's) and what a period already billed, read from the ledger.

- A charge with ``min_amount_cents`` whose fees of a usage window fall short gets a
  true-up fee on the same invoice: a ``charge`` fee of one unit pointing at the charge's
  own (unfiltered) fee, Lago's ``true_up_parent_fee``.
- A plan's minimum commitment is reconciled on the invoice that closes a period of the
  plan (period end, termination, upgrade): for plans paid in arrears that is the period's
  own invoice, for plans paid in advance the invoice that also bills the next period in
  advance (Lago reconciles the previous period there); the start invoice never carries
  one. It counts every fee of the period for that subscription: its subscription fee
  (paid in advance on an earlier invoice or in arrears on this one) and all its charge
  fees of the period, on this invoice or earlier ones (monthly charge invoices of longer
  plans, in-advance charge fees), voided invoices excepted. The commitment is read from
  the plan at billing time, as Lago does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.commitments import charge_true_up, commitment_true_up
from bxb.billing.invoice import FeeDraft
from bxb.billing.pauses import paused_days
from bxb.billing.periods import BillingTime, Interval, period_containing
from bxb.billing.proration import days_between
from bxb.billing.subscription_fees import Terms, charges_period, zone
from bxb.core.tax_book import TaxBook
from bxb.ledger.billing_parties import may_have_commitment
from bxb.models import Fee, Invoice, Plan, Subscription, SubscriptionPause
from bxb.workflows.billing_requests import BillingRequest, UsageWindow
from bxb.workflows.state import ChargeSnapshot, PlanSnapshot

# The invoices that close a period of the plan they bill.
CLOSING_KINDS = frozenset({"period_end", "termination", "plan_change"})
COMMITMENT_NAME = "Minimum commitment"  # Lago's default name (commitment.minimum.name)


@dataclass(frozen=True)
class Reconciled:
    """What a minimum is checked over: a subscription's [start, end) inside a period
    ending at period_end, `days` of its `full_days`."""

    organization_id: uuid.UUID
    currency: str
    segment_id: uuid.UUID
    start: datetime
    end: datetime
    period_end: datetime
    days: int
    full_days: int


@dataclass(frozen=True)
class Commitment:
    """A plan's minimum commitment, as read from the plan at billing time."""

    plan_id: uuid.UUID
    plan_code: str
    interval: str
    amount_cents: int
    invoice_display_name: str | None
    tax_ids: tuple[uuid.UUID, ...]


async def plan_commitment(session: AsyncSession, segment_id: uuid.UUID) -> Commitment | None:
    """The commitment of a subscription's plan (one small query; None without one)."""
    row = (
        await session.execute(
            select(
                Plan.id,
                Plan.code,
                Plan.interval,
                Plan.minimum_commitment_amount_cents,
                Plan.minimum_commitment_invoice_display_name,
                Plan.minimum_commitment_tax_ids,
            )
            .join(Subscription, Subscription.plan_id == Plan.id)
            .where(Subscription.id == segment_id)
        )
    ).one_or_none()
    if row is None or not row.minimum_commitment_amount_cents:
        return None
    return Commitment(
        row.id,
        row.code,
        row.interval,
        row.minimum_commitment_amount_cents,
        row.minimum_commitment_invoice_display_name,
        tuple(uuid.UUID(t) for t in row.minimum_commitment_tax_ids),
    )


def _terms(request: BillingRequest, plan: PlanSnapshot) -> Terms:
    row = request.rows[-1]  # every row of a subscription shares its anchor and billing time
    return Terms(
        interval=Interval(plan.interval),
        billing_time=BillingTime(row.billing_time),
        anchor=row.subscription_at,
        tz=zone(request.timezone),
        bill_charges_monthly=plan.bill_charges_monthly,
    )


def usage_window(request: BillingRequest, window: UsageWindow) -> Reconciled:
    """A usage window, within the charges period it lies in."""
    terms = _terms(request, window.plan)
    period = charges_period(window.from_datetime, window.from_datetime, terms)
    days = days_between(window.from_datetime, window.to_datetime, terms.tz)
    # Paused days are not billed: the minimum applies to the days not paused (issue 10).
    spans = [(p.start, p.end) for p in window.paused]
    days -= paused_days(spans, window.from_datetime, window.to_datetime, terms.tz)
    return Reconciled(
        request.organization_id,
        request.currency,
        window.segment_id,
        window.from_datetime,
        window.to_datetime,
        period.end,
        min(days, period.full_days),
        period.full_days,
    )


def charge_true_up_fee(
    where: Reconciled,
    charge: ChargeSnapshot,
    parent: Fee,
    used_amount_cents: int,
    used_precise_amount_cents: Decimal,
) -> Fee | None:
    """The true-up of charge's minimum over a window (``parent``: the charge's own fee)."""
    if charge.pay_in_advance or charge.min_amount_cents <= 0:
        return None
    true_up = charge_true_up(
        charge.min_amount_cents,
        where.days,
        where.full_days,
        used_amount_cents,
        used_precise_amount_cents,
    )
    if true_up is None:
        return None
    if parent.id is None:
        parent.id = uuid.uuid4()
    return Fee(
        id=uuid.uuid4(),
        organization_id=where.organization_id,
        subscription_id=where.segment_id,
        charge_id=charge.id,
        fee_type="charge",
        description=charge.invoice_display_name or charge.billable_metric.name,
        item_code=charge.billable_metric.code,
        amount_cents=true_up.amount_cents,
        precise_amount_cents=true_up.precise_amount_cents,
        amount_currency=where.currency,
        units=Decimal(1),
        events_count=0,
        from_datetime=where.start,
        to_datetime=where.end,
        true_up_parent_fee_id=parent.id,
        amount_details={"min_amount_cents": charge.min_amount_cents},
    )


async def closing_commitment_fee(
    session: AsyncSession,
    request: BillingRequest,
    invoice: Invoice,
    fees: list[Fee],
    taxes: TaxBook,
) -> tuple[Fee, FeeDraft] | None:
    """The minimum commitment's true-up on this invoice, if it closes a short period."""
    if request.kind not in CLOSING_KINDS:
        return None
    if not may_have_commitment(session, request.invoice_segment_id):
        return None
    commitment = await plan_commitment(session, request.invoice_segment_id)
    if commitment is None:
        return None
    start, end = request.invoice_period_start, request.invoice_period_end
    tz = zone(request.timezone)
    row = request.rows[-1]
    period = period_containing(
        start,
        interval=Interval(commitment.interval),
        billing_time=BillingTime(row.billing_time),
        anchor=row.subscription_at,
        tz=tz,
    )
    days = days_between(start, end, tz) - await _paused_days(session, request, start, end)
    where = Reconciled(
        request.organization_id,
        request.currency,
        request.invoice_segment_id,
        start,
        end,
        period.end,
        min(days, period.full_days),
        period.full_days,
    )
    return await commitment_fee(session, where, commitment, fees, taxes, invoice.id)


async def _paused_days(
    session: AsyncSession, request: BillingRequest, start: datetime, end: datetime
) -> int:
    """Days of [start, end) the subscription was paused (subscription_pauses, issue 10):
    the commitment is prorated by the days not paused, as the base fee is."""
    rows = await session.execute(
        select(SubscriptionPause.started_at, SubscriptionPause.ended_at).where(
            SubscriptionPause.organization_id == request.organization_id,
            SubscriptionPause.external_id == request.external_id,
            SubscriptionPause.started_at < end,
            or_(SubscriptionPause.ended_at.is_(None), SubscriptionPause.ended_at > start),
        )
    )
    spans = [(lo, hi) for lo, hi in rows]
    return paused_days(spans, start, end, zone(request.timezone))


async def commitment_fee(
    session: AsyncSession,
    where: Reconciled,
    commitment: Commitment,
    fees: list[Fee],
    taxes: TaxBook,
    invoice_id: uuid.UUID | None = None,
) -> tuple[Fee, FeeDraft] | None:
    """The commitment's true-up for `where`, given this invoice's `fees` (other invoices,
    but `invoice_id`, are read from the ledger), priced with the commitment's taxes."""
    if where.days <= 0:
        return None
    counted = [f for f in fees if _in_period(f, where.segment_id, where.start, where.period_end)]
    earlier_amount, earlier_precise = await _billed_before(session, where, invoice_id)
    true_up = commitment_true_up(
        commitment.amount_cents,
        where.days,
        where.full_days,
        sum(f.amount_cents for f in counted) + earlier_amount,
        sum((f.precise_amount_cents for f in counted), Decimal(0)) + earlier_precise,
    )
    if true_up is None:
        return None
    fee = Fee(
        id=uuid.uuid4(),
        organization_id=where.organization_id,
        subscription_id=where.segment_id,
        fee_type="commitment",
        description=commitment.invoice_display_name or COMMITMENT_NAME,
        item_code=commitment.plan_code,
        amount_cents=true_up.amount_cents,
        precise_amount_cents=true_up.precise_amount_cents,
        amount_currency=where.currency,
        units=Decimal(1),
        from_datetime=where.start,
        to_datetime=where.end,
        amount_details={
            "minimum_commitment_amount_cents": commitment.amount_cents,
            "commitment_amount_cents": int(true_up.minimum_cents),
            "days": where.days,
            "full_days": where.full_days,
        },
    )
    draft = FeeDraft(
        f"commitment-{where.segment_id}",
        true_up.amount_cents,
        taxes.for_commitment(commitment.plan_id, commitment.tax_ids),
        commitment.plan_code,
    )
    return fee, draft


def _in_period(fee: Fee, segment_id: uuid.UUID, start: datetime, end: datetime) -> bool:
    return (
        fee.subscription_id == segment_id
        and fee.fee_type in ("subscription", "charge")
        and fee.from_datetime is not None
        and fee.to_datetime is not None
        and fee.from_datetime >= start
        and fee.to_datetime <= end
    )


async def _billed_before(
    session: AsyncSession, where: Reconciled, invoice_id: uuid.UUID | None
) -> tuple[int, Decimal]:
    """What other (not voided) invoices billed the subscription for this period."""
    query = (
        select(
            func.coalesce(func.sum(Fee.amount_cents), 0),
            func.coalesce(func.sum(Fee.precise_amount_cents), 0),
        )
        .outerjoin(Invoice, Invoice.id == Fee.invoice_id)
        .where(
            Fee.organization_id == where.organization_id,
            Fee.subscription_id == where.segment_id,
            Fee.fee_type.in_(("subscription", "charge")),
            Fee.from_datetime >= where.start,
            Fee.to_datetime <= where.period_end,
            # Progressive billing invoices bill usage the closing invoice bills again
            # in full (deducting them): their fees are not counted twice.
            or_(
                Invoice.id.is_(None),
                and_(
                    Invoice.status.not_in(("voided", "deleted")),
                    Invoice.invoice_type != "progressive_billing",
                ),
            ),
        )
    )
    if invoice_id is not None:
        # Fees without an invoice (not invoiceable in-advance fees) count too.
        query = query.where(or_(Fee.invoice_id.is_(None), Fee.invoice_id != invoice_id))
    row = (await session.execute(query)).one()
    return int(row[0]), Decimal(row[1])
