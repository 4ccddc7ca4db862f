"""POST /invoices/preview: the invoice a plan or a customer's subscriptions would produce
next, priced like a real one (coupons, then taxes) but never stored nor numbered.

- A plan (`plan_code`): the first invoice a new subscription to it would get. Paid in
  advance: the base fee of the first (possibly partial) period, issued at the start. In
  arrears: the invoice at the end of the first period (the base fee; no usage yet).
- Existing subscriptions (`subscriptions.external_ids`): the invoice at the end of their
  current period: the base fee in arrears or the next period's fee in advance, plus the
  usage of the current period so far (read from the event store, as current usage is).

For existing subscriptions, charge minimums and the plan's minimum commitment add their
true-ups as the period-end invoice will (bxb.ledger.minimums).

Limits: filters split into separate lines, minimums on a new plan's first invoice, plan
changes (`subscriptions.plan_code`) and terminations (`subscriptions.terminated_at`) are
not previewed; the last two answer 422. Credit notes and wallet credits are not deducted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.customers import live_customer
from bxb.api.errors import not_found, validation_error
from bxb.api.one_off_invoices import applied_taxes_with_bases
from bxb.api.plans import find_plan
from bxb.api.preview_coupons import customer_coupons, requested_coupons
from bxb.api.schemas.invoices import InvoicePreviewIn
from bxb.billing.invoice import FeeDraft, assemble_invoice
from bxb.billing.periods import BillingTime, Interval, local_day, trial_end
from bxb.billing.proration import days_between
from bxb.billing.subscription_fees import Terms, base_fee, charges_period, segment_period, zone
from bxb.billing.usage import compute_customer_usage
from bxb.core.customer_clock import customer_now, customer_zone
from bxb.core.subscriptions import live_rows, plan_snapshot, query_view
from bxb.core.tax_book import TaxBook
from bxb.core.temporal import TemporalConnector
from bxb.events.store import EventStore
from bxb.lago_objects.invoices import invoice_objects
from bxb.ledger.amounts import set_fee_prices
from bxb.ledger.finalizing import net_payment_term
from bxb.ledger.minimums import Reconciled, charge_true_up_fee, commitment_fee, plan_commitment
from bxb.models import Customer, Fee, Invoice, Organization, Subscription
from bxb.models.base import utcnow
from bxb.workflows.state import PlanSnapshot, SubscriptionState


@dataclass
class _Line:
    fee: Fee
    draft: FeeDraft


@dataclass
class _Draft:
    """What the preview bills: its lines, subscriptions, plans, and when it is issued."""

    at: datetime
    lines: list[_Line]
    subscriptions: list[Subscription]
    plans: list[PlanSnapshot]
    # The periods whose minimum commitment the invoice reconciles.
    commitments: list[Reconciled] = field(default_factory=list)


def _base_line(
    org_id: uuid.UUID,
    subscription_id: uuid.UUID,
    plan: PlanSnapshot,
    terms: Terms,
    segment_start: datetime,
    window: tuple[datetime, datetime],
    trial_ends_at: datetime | None,
) -> _Line | None:
    period = segment_period(window[0], segment_start, terms)
    fee = base_fee(plan.amount_cents, period, window[0], window[1], trial_ends_at, terms.tz)
    if fee.days == 0:
        return None
    row = Fee(
        organization_id=org_id,
        subscription_id=subscription_id,
        fee_type="subscription",
        description=plan.invoice_display_name or plan.name,
        item_code=plan.code,
        amount_cents=fee.amount_cents,
        precise_amount_cents=Decimal(fee.amount_cents),
        amount_currency=plan.currency,
        units=Decimal(1),
        from_datetime=max(window[0], period.start),
        to_datetime=min(window[1], period.end),
        amount_details={
            "plan_amount_cents": plan.amount_cents,
            "days": fee.days,
            "full_days": fee.full_days,
        },
    )
    return _Line(row, FeeDraft(f"base-{subscription_id}", fee.amount_cents, (), plan.code))


def _virtual_customer(org: Organization, body: InvoicePreviewIn) -> Customer:
    data = body.customer
    now = utcnow()
    return Customer(
        id=uuid.uuid4(),
        organization_id=org.id,
        external_id=data.external_id or "",
        sequential_id=0,
        name=data.name,
        currency=data.currency,
        timezone=data.timezone,
        address_line1=data.address_line1,
        address_line2=data.address_line2,
        city=data.city,
        state=data.state,
        zipcode=data.zipcode,
        country=data.country,
        tax_identification_number=data.tax_identification_number,
        metadata_=[],
        created_at=now,
        updated_at=now,
    )


async def _new_plan(
    session: AsyncSession, org: Organization, customer: Customer, body: InvoicePreviewIn
) -> _Draft:
    assert body.plan_code is not None
    plan = plan_snapshot(await find_plan(session, org, body.plan_code))
    if customer.currency is not None and customer.currency != plan.currency:
        raise validation_error({"currency": ["currencies_does_not_match"]})
    start = body.subscription_at or await customer_now(session, customer)
    tz = customer_zone(customer, org)
    terms = Terms(
        Interval(plan.interval),
        BillingTime(body.billing_time or "calendar"),
        start,
        tz,
        plan.bill_charges_monthly,
    )
    trial_ends_at = trial_end(start, plan.trial_period_days, tz) if plan.trial_period_days else None
    period = segment_period(start, start, terms)
    row = Subscription(
        id=uuid.uuid4(),
        organization_id=org.id,
        external_id="",
        customer_id=customer.id,
        external_customer_id=customer.external_id,
        plan_id=plan.id,
        plan_code=plan.code,
        plan_amount_cents=plan.amount_cents,
        plan_amount_currency=plan.currency,
        status="pending",
        billing_time=terms.billing_time.value,
        subscription_at=start,
        current_billing_period_started_at=period.start,
        current_billing_period_ending_at=period.end,
        workflow_id="",
        created_at=utcnow(),
    )
    line = _base_line(org.id, row.id, plan, terms, start, (start, period.end), trial_ends_at)
    at = start if plan.pay_in_advance else period.end
    return _Draft(at, [line] if line else [], [row], [plan])


async def _charge_lines(
    org_id: uuid.UUID, state: SubscriptionState, row: Subscription, store: EventStore, terms: Terms
) -> list[_Line]:
    plan = state.segment.plan
    assert state.usage_from is not None
    assert state.period_end is not None
    window = charges_period(state.usage_from, state.segment.started_at, terms)
    end = min(window.end, state.period_end)
    events = {
        code: await store.fetch(org_id, state.external_id, code, state.usage_from, end)
        for code in {c.billable_metric.code for c in plan.charges}
    }
    usage = compute_customer_usage(
        [c.usage_charge() for c in plan.charges], events, state.usage_from, end, plan.currency
    )
    days = min(days_between(state.usage_from, end, terms.tz), window.full_days)
    where = Reconciled(
        org_id, plan.currency, row.id, state.usage_from, end, window.end, days, window.full_days
    )
    lines = []
    for charge, charge_usage in zip(plan.charges, usage.charges_usage, strict=True):
        fee = Fee(
            organization_id=org_id,
            subscription_id=row.id,
            charge_id=charge.id,
            fee_type="charge",
            description=charge.invoice_display_name or charge.billable_metric.name,
            item_code=charge.billable_metric.code,
            amount_cents=charge_usage.amount_cents,
            precise_amount_cents=Decimal(charge_usage.amount_cents),
            amount_currency=plan.currency,
            units=charge_usage.units,
            events_count=charge_usage.events_count,
            from_datetime=state.usage_from,
            to_datetime=end,
            amount_details={},
        )
        key = f"charge-{row.id}-{charge.id}"
        draft = FeeDraft(key, charge_usage.amount_cents, (), plan.code, charge.billable_metric.code)
        lines.append(_Line(fee, draft))
        amount = charge_usage.amount_cents
        true_up = charge_true_up_fee(where, charge, fee, amount, Decimal(amount))
        if true_up is not None:
            key = f"true-up-{row.id}-{charge.id}"
            code = charge.billable_metric.code
            lines.append(_Line(true_up, FeeDraft(key, true_up.amount_cents, (), plan.code, code)))
    return lines


async def _existing(
    session: AsyncSession,
    org: Organization,
    customer: Customer,
    body: InvoicePreviewIn,
    store: EventStore,
    temporal: TemporalConnector,
) -> _Draft:
    assert body.subscriptions is not None
    if body.subscriptions.plan_code or body.subscriptions.terminated_at:
        raise validation_error({"subscriptions": ["preview_not_supported"]})
    found: list[Subscription] = []
    for external_id in dict.fromkeys(body.subscriptions.external_ids):
        rows = [
            r
            for r in await live_rows(session, org.id, external_id)
            if r.customer_id == customer.id and r.status == "active"
        ]
        if not rows:
            raise not_found("subscription")
        found.append(rows[0])
    client = await temporal.client()
    draft = _Draft(utcnow(), [], [], [])
    for row in found:
        state = (await query_view(client, row.workflow_id, wait=temporal.wait)).state
        assert state.period_start is not None
        assert state.period_end is not None
        plan = state.segment.plan
        terms = Terms(
            Interval(plan.interval),
            BillingTime(state.billing_time),
            state.anchor,
            zone(state.timezone),
            plan.bill_charges_monthly,
        )
        start = state.segment.started_at
        draft.at = state.period_end
        if not plan.pay_in_advance:
            window = (state.period_start, state.period_end)
            line = _base_line(org.id, row.id, plan, terms, start, window, state.trial_ends_at)
        else:
            following = segment_period(state.period_end, start, terms)
            window = (following.start, following.end)
            line = _base_line(org.id, row.id, plan, terms, start, window, state.trial_ends_at)
        draft.lines += [line] if line else []
        draft.lines += await _charge_lines(org.id, state, row, store, terms)
        period = segment_period(state.period_start, start, terms)
        days = min(days_between(state.period_start, state.period_end, terms.tz), period.full_days)
        where = Reconciled(
            org.id,
            plan.currency,
            row.id,
            state.period_start,
            state.period_end,
            state.period_end,
            days,
            period.full_days,
        )
        draft.commitments.append(where)
        draft.subscriptions.append(row)
        draft.plans.append(plan)
    return draft


async def preview_invoice(
    session: AsyncSession,
    org: Organization,
    body: InvoicePreviewIn,
    store: EventStore,
    temporal: TemporalConnector,
) -> dict[str, Any]:
    customer = None
    if body.customer.external_id:
        customer = await live_customer(session, org.id, body.customer.external_id)
    known_customer = customer is not None
    if body.subscriptions is not None:
        if customer is None:
            raise not_found("customer")
        draft = await _existing(session, org, customer, body, store, temporal)
    elif body.plan_code is not None:
        customer = customer or _virtual_customer(org, body)
        draft = await _new_plan(session, org, customer, body)
    else:
        raise validation_error({"plan_code": ["value_is_mandatory"]})
    currency = draft.plans[0].currency
    taxes = await TaxBook.load(session, org.id, customer.id, draft.plans)
    for where in draft.commitments:
        commitment = await plan_commitment(session, where.segment_id)
        fees = [line.fee for line in draft.lines]
        found = commitment and await commitment_fee(session, where, commitment, fees, taxes)
        if found:
            draft.lines.append(_Line(*found))
    drafts = []
    for line in draft.lines:
        if line.fee.fee_type == "commitment":
            applicable = line.draft.taxes
        elif line.fee.charge_id is not None:
            applicable = taxes.for_charge(line.fee.charge_id, line.draft.plan_code)
        else:
            applicable = taxes.for_plan(
                next(p for p in draft.plans if p.code == line.draft.plan_code)
            )
        drafts.append(
            FeeDraft(
                line.draft.key,
                line.draft.amount_cents,
                applicable,
                line.draft.plan_code,
                line.draft.billable_metric_code,
            )
        )
    if body.coupons is not None:
        coupons = await requested_coupons(session, org.id, body.coupons, draft.at)
    elif known_customer:
        coupons = await customer_coupons(session, customer.id)
    else:
        coupons = []
    assembled = assemble_invoice(drafts, coupons, credit_cents=0, currency=currency, at=draft.at)
    for line, priced in zip(draft.lines, assembled.fees, strict=True):
        set_fee_prices(line.fee, priced)
    tz = customer_zone(customer, org)
    issuing_date = local_day(draft.at, tz)
    now = utcnow()
    invoice = Invoice(
        # Lago's client requires an id; a fresh one, as nothing is stored under it.
        id=uuid.uuid4(),
        organization_id=org.id,
        customer_id=customer.id,
        invoice_type="subscription",
        kind="preview",
        status="draft",
        payment_status="pending",
        currency=currency,
        issuing_date=issuing_date,
        fees_amount_cents=assembled.fees_amount_cents,
        coupons_amount_cents=assembled.coupons_amount_cents,
        taxes_amount_cents=assembled.taxes_amount_cents,
        credit_notes_amount_cents=0,
        prepaid_credit_amount_cents=0,
        total_amount_cents=assembled.total_amount_cents,
        total_paid_amount_cents=0,
        net_payment_term=net_payment_term(customer, org),
        # Lago's preview: the issuing date plus the customer's net payment term.
        payment_due_date=issuing_date + timedelta(days=net_payment_term(customer, org)),
        payment_overdue=False,
        applied_taxes=applied_taxes_with_bases(taxes, assembled),
        metadata_=[],
        created_at=now,
        updated_at=now,
        fees=[line.fee for line in draft.lines],
    )
    (data,) = await invoice_objects(
        session, [invoice], customer=customer, subscriptions=draft.subscriptions
    )
    return data
