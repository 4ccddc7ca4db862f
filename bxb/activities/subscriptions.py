"""Activities of the subscription workflow: record each transition, billing it if due.

Each activity writes, in one transaction, the Postgres mirror rows of the subscription and
(when there is anything to bill) one invoice with its fees. The invoice is unique on
(subscription segment, period, kind): a retried or duplicated activity finds the invoice
it wrote before and returns it, so nothing is ever billed twice.

The activity names say what happened, so a subscription's history in the Temporal UI
reads like its story: start_subscription, end_trial, close_period, change_plan, ...
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from bxb.billing import coupons as pure_coupons
from bxb.billing.invoice import AssembledInvoice, FeeDraft, assemble_invoice
from bxb.billing.periods import local_day
from bxb.billing.taxes import Tax as PureTax
from bxb.billing.usage import compute_customer_usage
from bxb.core.db import transaction
from bxb.core.tax_book import TaxBook
from bxb.events.store import EventStore
from bxb.models import (
    AppliedCoupon,
    BillableMetric,
    Fee,
    Invoice,
    InvoiceSequence,
    Organization,
    Plan,
    Subscription,
)
from bxb.workflows.billing_requests import (
    BillingRequest,
    BillingResult,
    SubscriptionRow,
    UsageWindow,
)


@dataclass(frozen=True)
class _FeeLine:
    """A fee before coupons and taxes: what it is for and what it costs."""

    draft: FeeDraft
    fee: Fee


class SubscriptionActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], events: EventStore) -> None:
        self.sessions = sessions
        self.events = events

    # One implementation, several names: the history shows which transition it was.
    @activity.defn(name="start_subscription")
    async def start_subscription(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="end_trial")
    async def end_trial(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="close_period")
    async def close_period(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="bill_usage")
    async def bill_usage(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="change_plan")
    async def change_plan(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="schedule_downgrade")
    async def schedule_downgrade(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="terminate_subscription")
    async def terminate_subscription(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="cancel_subscription")
    async def cancel_subscription(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="record_subscription")
    async def record_subscription(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    def all(self) -> list[Any]:
        return [
            self.start_subscription,
            self.end_trial,
            self.close_period,
            self.bill_usage,
            self.change_plan,
            self.schedule_downgrade,
            self.terminate_subscription,
            self.cancel_subscription,
            self.record_subscription,
        ]

    async def record(self, request: BillingRequest) -> BillingResult:
        # Usage is read before the transaction: event stores may be another database.
        usage_lines = [await self._charge_fees(request, window) for window in request.usage]
        async with transaction(self.sessions) as session:
            await _upsert_rows(session, request.rows)
            if not request.base_fees and not request.usage:
                return BillingResult()
            existing = await session.scalar(
                select(Invoice).where(
                    Invoice.subscription_id == request.invoice_segment_id,
                    Invoice.period_start == request.invoice_period_start,
                    Invoice.period_end == request.invoice_period_end,
                    Invoice.kind == request.kind,
                )
            )
            if existing is not None:
                return BillingResult(
                    invoice_id=existing.id, total_amount_cents=existing.total_amount_cents
                )
            invoice = await self._write_invoice(session, request, usage_lines)
        return BillingResult(invoice_id=invoice.id, total_amount_cents=invoice.total_amount_cents)

    async def _charge_fees(self, request: BillingRequest, window: UsageWindow) -> list[_FeeLine]:
        """One fee per charge, or per filter (and unmatched remainder) of a filtered charge."""
        charges = window.plan.charges
        events = {
            code: await self.events.fetch(
                request.organization_id,
                request.external_id,
                code,
                window.from_datetime,
                window.to_datetime,
            )
            for code in {c.billable_metric.code for c in charges}
        }
        usage = compute_customer_usage(
            [c.usage_charge() for c in charges],
            events,
            window.from_datetime,
            window.to_datetime,
            request.currency,
        )
        lines = []
        for charge, charge_usage in zip(charges, usage.charges_usage, strict=True):
            name = charge.invoice_display_name or charge.billable_metric.name
            parts: list[tuple[uuid.UUID | None, str, Decimal, int, int]] = [
                (
                    None,
                    name,
                    charge_usage.units,
                    charge_usage.events_count,
                    charge_usage.amount_cents,
                )
            ]
            if charge_usage.filters:  # the filters in order, then the unmatched remainder
                ids: list[uuid.UUID | None] = [*(f.id for f in charge.filters), None]
                parts = [
                    (
                        filter_id,
                        f"{name} — {part.invoice_display_name or _filter_label(part.values)}",
                        part.units,
                        part.events_count,
                        part.amount_cents,
                    )
                    for filter_id, part in zip(ids, charge_usage.filters, strict=True)
                    if filter_id is not None or part.events_count
                ]
            for filter_id, description, units, events_count, amount in parts:
                fee = Fee(
                    organization_id=request.organization_id,
                    subscription_id=window.segment_id,
                    charge_id=charge.id,
                    charge_filter_id=filter_id,
                    fee_type="charge",
                    description=description,
                    item_code=charge.billable_metric.code,
                    amount_cents=amount,
                    precise_amount_cents=Decimal(amount),
                    amount_currency=request.currency,
                    units=units,
                    events_count=events_count,
                    from_datetime=window.from_datetime,
                    to_datetime=window.to_datetime,
                )
                key = f"charge-{charge.id}-{filter_id or 'default'}"
                draft = FeeDraft(key, amount, (), window.plan.code, charge.billable_metric.code)
                lines.append(_FeeLine(draft, fee))
        return lines

    async def _write_invoice(
        self, session: AsyncSession, request: BillingRequest, usage: list[list[_FeeLine]]
    ) -> Invoice:
        taxes = await TaxBook.load(
            session,
            request.organization_id,
            request.customer_id,
            [*(w.plan for w in request.usage), *(b.plan for b in request.base_fees)],
        )
        lines: list[_FeeLine] = []
        credits: list[Fee] = []
        for base in request.base_fees:
            plan_name = base.plan.invoice_display_name or base.plan.name
            if base.credit:
                # Unused prepaid days: kept whole as a line (what is not absorbed by this
                # invoice is owed back), applied to the invoice's total up to what it is.
                credits.append(
                    Fee(
                        organization_id=request.organization_id,
                        subscription_id=base.segment_id,
                        fee_type="credit",
                        description=f"Unused days of {plan_name}",
                        item_code=base.plan.code,
                        amount_cents=base.amount_cents,
                        precise_amount_cents=Decimal(base.amount_cents),
                        amount_currency=request.currency,
                        units=Decimal(base.days),
                        from_datetime=base.from_datetime,
                        to_datetime=base.to_datetime,
                        amount_details={"days": base.days, "full_days": base.full_days},
                    )
                )
                continue
            fee = Fee(
                organization_id=request.organization_id,
                subscription_id=base.segment_id,
                fee_type="subscription",
                description=plan_name,
                item_code=base.plan.code,
                amount_cents=base.amount_cents,
                precise_amount_cents=Decimal(base.amount_cents),
                amount_currency=request.currency,
                units=Decimal(1),
                from_datetime=base.from_datetime,
                to_datetime=base.to_datetime,
                amount_details={
                    "plan_amount_cents": base.plan.amount_cents,
                    "days": base.days,
                    "full_days": base.full_days,
                },
            )
            key = f"base-{len(lines)}"
            draft = FeeDraft(key, base.amount_cents, taxes.for_plan(base.plan), base.plan.code)
            lines.append(_FeeLine(draft, fee))
        for charge_lines in usage:
            for line in charge_lines:
                charge_taxes = taxes.for_charge(line.fee.charge_id, line.draft.plan_code)
                lines.append(_FeeLine(_with_taxes(line.draft, charge_taxes), line.fee))
        applied = await _applied_coupons(session, request)
        assembled = assemble_invoice(
            [line.draft for line in lines],
            [pure for _, pure in applied],
            credit_cents=sum(fee.amount_cents for fee in credits),
            currency=request.currency,
            at=request.at,
        )
        invoice = await _new_invoice(session, request, assembled)
        for position, (line, priced) in enumerate(zip(lines, assembled.fees, strict=True)):
            line.fee.position = position
            line.fee.coupons_amount_cents = priced.coupons_amount_cents
            line.fee.taxes_amount_cents = priced.tax.taxes_amount_cents
            line.fee.taxes_rate = priced.tax.taxes_rate
            invoice.fees.append(line.fee)
        for position, credit in enumerate(credits, start=len(lines)):
            credit.position = position
            invoice.fees.append(credit)
        invoice.applied_taxes = taxes.applied(assembled)
        _consume_coupons(applied, assembled, request.at)
        session.add(invoice)
        await session.flush()
        return invoice


def _filter_label(values: Mapping[str, tuple[str, ...]] | None) -> str:
    if values is None:
        return "other"
    return ", ".join(f"{key}: {'/'.join(allowed)}" for key, allowed in sorted(values.items()))


def _with_taxes(draft: FeeDraft, taxes: tuple[PureTax, ...]) -> FeeDraft:
    return FeeDraft(
        draft.key, draft.amount_cents, taxes, draft.plan_code, draft.billable_metric_code
    )


_MIRROR_COLUMNS = [c for c in SubscriptionRow.model_fields if c != "lago_id"]


async def _upsert_rows(session: AsyncSession, rows: list[SubscriptionRow]) -> None:
    """Write the mirror rows in one statement (insert, or update what the workflow says)."""
    if not rows:
        return
    values = []
    for row in rows:
        data = row.model_dump()
        data["id"] = data.pop("lago_id")
        values.append(data)
    statement = insert(Subscription).values(values)
    updates: dict[str, Any] = {
        name: statement.excluded[name] for name in _MIRROR_COLUMNS if name != "organization_id"
    }
    updates["updated_at"] = func.now()
    await session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=updates))


async def _next_sequential_id(session: AsyncSession, organization_id: uuid.UUID) -> int:
    """The organization's next invoice number, gapless (see InvoiceSequence)."""
    statement = (
        insert(InvoiceSequence)
        .values(organization_id=organization_id, last_sequential_id=1)
        .on_conflict_do_update(
            index_elements=["organization_id"],
            set_={"last_sequential_id": InvoiceSequence.last_sequential_id + 1},
        )
        .returning(InvoiceSequence.last_sequential_id)
    )
    number: int = (await session.execute(statement)).scalar_one()
    return number


async def _new_invoice(
    session: AsyncSession, request: BillingRequest, assembled: AssembledInvoice
) -> Invoice:
    """A finalized invoice with the next gapless number of its organization."""
    org = await session.get(Organization, request.organization_id)
    assert org is not None
    sequential_id = await _next_sequential_id(session, org.id)
    return Invoice(
        id=uuid.uuid4(),
        organization_id=request.organization_id,
        customer_id=request.customer_id,
        subscription_id=request.invoice_segment_id,
        invoice_type="subscription",
        kind=request.kind,
        period_start=request.invoice_period_start,
        period_end=request.invoice_period_end,
        status="finalized",
        payment_status="pending",
        currency=request.currency,
        issuing_date=local_day(request.at, ZoneInfo(request.timezone)),
        sequential_id=sequential_id,
        number=f"{org.document_number_prefix}-{sequential_id:06d}",
        fees_amount_cents=assembled.fees_amount_cents,
        coupons_amount_cents=assembled.coupons_amount_cents,
        taxes_amount_cents=assembled.taxes_amount_cents,
        credit_notes_amount_cents=assembled.credit_amount_cents,
        total_amount_cents=assembled.total_amount_cents,
        finalized_at=request.at,
    )


async def _applied_coupons(
    session: AsyncSession, request: BillingRequest
) -> list[tuple[AppliedCoupon, pure_coupons.AppliedCoupon]]:
    rows = await session.scalars(
        select(AppliedCoupon)
        .where(
            AppliedCoupon.customer_id == request.customer_id,
            AppliedCoupon.status == "active",
        )
        .order_by(AppliedCoupon.created_at, AppliedCoupon.id)
        .with_for_update(of=AppliedCoupon)
    )
    applied = list(rows)
    plan_ids = {t.plan_id for row in applied for t in row.coupon.targets if t.plan_id}
    metric_ids = {
        t.billable_metric_id for row in applied for t in row.coupon.targets if t.billable_metric_id
    }
    codes: dict[uuid.UUID, str] = {}
    if plan_ids:
        codes |= dict(
            (
                await session.execute(select(Plan.id, Plan.code).where(Plan.id.in_(plan_ids)))
            ).tuples()
        )
    if metric_ids:
        query = select(BillableMetric.id, BillableMetric.code).where(
            BillableMetric.id.in_(metric_ids)
        )
        codes |= dict((await session.execute(query)).tuples())
    return [(row, _pure_coupon(row, codes)) for row in applied]


def _pure_coupon(row: AppliedCoupon, codes: dict[uuid.UUID, str]) -> pure_coupons.AppliedCoupon:
    coupon = row.coupon
    return pure_coupons.AppliedCoupon(
        id=str(row.id),
        coupon_code=coupon.code,
        coupon_type=pure_coupons.CouponType(coupon.coupon_type),
        frequency=pure_coupons.CouponFrequency(row.frequency),
        created_at=row.created_at,
        amount_cents=row.amount_cents,
        amount_currency=row.amount_currency,
        percentage_rate=row.percentage_rate,
        frequency_duration=row.frequency_duration,
        frequency_duration_remaining=row.frequency_duration_remaining,
        amount_cents_remaining=row.amount_cents_remaining,
        expiration_at=coupon.expiration_at,
        plan_codes=frozenset(codes[t.plan_id] for t in coupon.targets if t.plan_id),
        billable_metric_codes=frozenset(
            codes[t.billable_metric_id] for t in coupon.targets if t.billable_metric_id
        ),
    )


def _consume_coupons(
    applied: list[tuple[AppliedCoupon, pure_coupons.AppliedCoupon]],
    assembled: AssembledInvoice,
    at: datetime,
) -> None:
    updated = {d.applied_coupon_id: d.updated for d in assembled.coupons}
    for row, pure in applied:
        after = updated.get(pure.id)
        if after is None:
            continue
        row.amount_cents_remaining = after.amount_cents_remaining
        row.frequency_duration_remaining = after.frequency_duration_remaining
        if after.status is pure_coupons.AppliedCouponStatus.TERMINATED:
            row.status = "terminated"
            row.terminated_at = row.terminated_at or at
