"""Writing subscription invoices: compose them (draft or final); refreshing and finalizing
drafts is in finalizing.

A subscription's invoice is composed from what its workflow asked to bill (a
BillingRequest): base fees, usage charges read from the event store, coupons, taxes.
During the grace period it stays a draft: coupons are shown but not consumed, no number
is taken, and a refresh recomputes it from the same request (late events count).
Finalizing recomputes it one last time, consumes coupons, takes the next gapless number,
then applies credit notes and wallet credits, in Lago's order.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.invoice import AssembledInvoice, FeeDraft, assemble_invoice
from bxb.billing.pauses import outside_pauses
from bxb.billing.periods import local_day
from bxb.billing.progressive import deductions as progressive_deductions
from bxb.billing.taxes import Tax as PureTax
from bxb.billing.usage import compute_customer_usage
from bxb.core.tax_book import TaxBook
from bxb.events.store import EventStore
from bxb.ledger import credit_notes, progressive
from bxb.ledger.amounts import set_fee_prices
from bxb.ledger.coupons import applied_coupons, consume_coupons
from bxb.ledger.credit_note_issuing import created_webhook
from bxb.ledger.fixed_fees import fixed_fee_lines
from bxb.ledger.minimums import charge_true_up_fee, closing_commitment_fee, usage_window
from bxb.models import CreditNote, Fee, Invoice
from bxb.workflows.billing_requests import BillingRequest, UsageWindow


@dataclass(frozen=True)
class FeeLine:
    """A fee before coupons and taxes: what it is for and what it costs."""

    draft: FeeDraft
    fee: Fee


UsageLines = list[list[FeeLine]]


class Invoicing:
    """Composes subscription invoices; reads usage from the event store."""

    def __init__(self, events: EventStore) -> None:
        self.events = events

    async def usage_lines(self, request: BillingRequest) -> UsageLines:
        """The charge fees of every usage window (read before the writing transaction)."""
        return [await self._charge_fees(request, window) for window in request.usage]

    async def _charge_fees(self, request: BillingRequest, window: UsageWindow) -> list[FeeLine]:
        """One fee per charge, or per filter (and unmatched remainder) of a filtered charge.

        Pay-in-advance charges are not billed here: each event got its fee when it arrived
        (`bxb.usage_reactions.instant_fees`).
        """
        charges = [c for c in window.plan.charges if not c.pay_in_advance]
        paused = [(p.start, p.end) for p in window.paused]  # stored, not billed
        events = {
            code: outside_pauses(
                await self.events.fetch(
                    request.organization_id,
                    request.external_id,
                    code,
                    window.from_datetime,
                    window.to_datetime,
                ),
                paused,
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
                ]
            charge_lines: list[FeeLine] = []
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
                charge_lines.append(FeeLine(draft, fee))
            own = charge_lines[-1].fee  # the charge's own fee (or its unmatched remainder)
            # Progressive billing bills the usage so far; minimums wait for the period end.
            true_up = None
            if not progressive.is_progressive(request.kind):
                true_up = charge_true_up_fee(
                    usage_window(request, window),
                    charge,
                    own,
                    charge_usage.amount_cents,
                    Decimal(charge_usage.amount_cents),
                )
            # Lago lists a filtered charge's remainder only when it has events, or when
            # a true-up points at it.
            lines += [
                line
                for line in charge_lines
                if line.fee.charge_filter_id is not None
                or not charge_usage.filters
                or line.fee.events_count
                or true_up is not None
            ]
            if true_up is not None:
                key = f"true-up-{charge.id}"
                draft = FeeDraft(
                    key, true_up.amount_cents, (), window.plan.code, charge.billable_metric.code
                )
                lines.append(FeeLine(draft, true_up))
        return lines

    async def compose(
        self,
        session: AsyncSession,
        request: BillingRequest,
        usage: UsageLines,
        invoice: Invoice,
        *,
        final: bool,
    ) -> list[uuid.UUID]:
        """(Re)write invoice's fees and amounts from request; consume coupons when final.

        Unused prepaid days become a credit note on the invoice that billed them (consumed
        by this invoice when it is finalized, the rest kept for the next ones); only when
        that invoice cannot be credited (still a draft) do they stay a credit line here.
        Returns the credit_note.created webhooks to dispatch.
        """
        taxes = await TaxBook.load(
            session,
            request.organization_id,
            request.customer_id,
            [*(w.plan for w in request.usage), *(b.plan for b in request.base_fees)],
        )
        lines, unused = _base_fee_lines(request, taxes)
        lines += [
            FeeLine(draft, fee) for draft, fee in await fixed_fee_lines(session, request, taxes)
        ]
        credits: list[Fee] = []
        webhooks: list[uuid.UUID] = []
        for credit in unused:
            note = await credit_notes.credit_unused_days(session, credit, request.at)
            if note is credit_notes.KEEP_AS_LINE:
                credits.append(credit)
            elif isinstance(note, CreditNote):
                webhooks += await created_webhook(session, note)
        # Usage already billed by the period's progressive invoices: deducted per fee
        # before coupons and taxes (Lago's progressive billing credit).
        deducted = [0] * len(lines)
        billed = await progressive.already_billed(session, request, invoice.id)
        for charge_lines, window_billed in zip(usage, billed, strict=True):
            amounts = {
                progressive.fee_key(line.fee): line.fee.amount_cents for line in charge_lines
            }
            deductions = progressive_deductions(amounts, window_billed)
            for line in charge_lines:
                charge_taxes = taxes.for_charge(line.fee.charge_id, line.draft.plan_code)
                deduction = deductions.pop(progressive.fee_key(line.fee), 0)
                lines.append(FeeLine(_with_taxes(line.draft, charge_taxes, deduction), line.fee))
                deducted.append(deduction)
        commitment = await closing_commitment_fee(
            session, request, invoice, [line.fee for line in lines], taxes
        )
        if commitment is not None:
            lines.append(FeeLine(commitment[1], commitment[0]))
            deducted.append(0)
        applied = await applied_coupons(session, request.customer_id)
        assembled = assemble_invoice(
            [line.draft for line in lines],
            [pure for _, pure in applied],
            credit_cents=sum(fee.amount_cents for fee in credits),
            currency=request.currency,
            at=request.at,
        )
        _set_amounts(invoice, assembled, sum(deducted))
        invoice.fees.clear()
        for position, (line, priced) in enumerate(zip(lines, assembled.fees, strict=True)):
            line.fee.position = position
            set_fee_prices(line.fee, priced)
            # The progressive credit shows in the fee's coupons, as Lago shows it.
            line.fee.coupons_amount_cents += deducted[position]
            line.fee.precise_coupons_amount_cents += deducted[position]
            invoice.fees.append(line.fee)
        for position, credit in enumerate(credits, start=len(lines)):
            credit.position = position
            invoice.fees.append(credit)
        invoice.applied_taxes = taxes.applied(assembled)
        # What its usage fees were computed from: late events re-rate the same windows.
        invoice.usage_windows = [w.model_dump(mode="json") for w in request.usage] or None
        if final:
            consume_coupons(session, applied, assembled, invoice, request.at)
        return webhooks


def new_invoice(request: BillingRequest) -> Invoice:
    """An empty draft for request's period (compose fills it, finalize numbers it)."""
    return Invoice(
        id=uuid.uuid4(),
        organization_id=request.organization_id,
        customer_id=request.customer_id,
        subscription_id=request.invoice_segment_id,
        invoice_type="subscription",
        kind=request.kind,
        period_start=request.invoice_period_start,
        period_end=request.invoice_period_end,
        status="draft",
        payment_status="pending",
        currency=request.currency,
        issuing_date=local_day(request.at, ZoneInfo(request.timezone)),
        total_paid_amount_cents=0,
        net_payment_term=0,
        payment_overdue=False,
        metadata_=[],
        applied_taxes=[],
        fees=[],
    )


def _set_amounts(invoice: Invoice, assembled: AssembledInvoice, progressive_cents: int) -> None:
    # The fees were assembled net of the progressive credit; the invoice shows them whole.
    invoice.fees_amount_cents = assembled.fees_amount_cents + progressive_cents
    invoice.progressive_billing_credit_amount_cents = progressive_cents
    invoice.coupons_amount_cents = assembled.coupons_amount_cents
    invoice.taxes_amount_cents = assembled.taxes_amount_cents
    invoice.credit_notes_amount_cents = assembled.credit_amount_cents
    invoice.prepaid_credit_amount_cents = 0
    invoice.total_amount_cents = assembled.total_amount_cents


def _base_fee_lines(request: BillingRequest, taxes: TaxBook) -> tuple[list[FeeLine], list[Fee]]:
    """Base fees as priced lines, and unused prepaid days as credit lines."""
    lines: list[FeeLine] = []
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
        lines.append(FeeLine(draft, fee))
    return lines, credits


def _filter_label(values: Mapping[str, tuple[str, ...]] | None) -> str:
    if values is None:
        return "other"
    return ", ".join(f"{key}: {'/'.join(allowed)}" for key, allowed in sorted(values.items()))


def _with_taxes(draft: FeeDraft, taxes: tuple[PureTax, ...], deduction: int = 0) -> FeeDraft:
    return FeeDraft(
        draft.key,
        draft.amount_cents - deduction,
        taxes,
        draft.plan_code,
        draft.billable_metric_code,
    )


async def lock_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> Invoice | None:
    """The invoice, locked until the end of the transaction: finalizing, payments, voids
    and credits of one invoice serialize on it."""
    invoice: Invoice | None = await session.scalar(
        select(Invoice).where(Invoice.id == invoice_id).with_for_update()
    )
    return invoice
