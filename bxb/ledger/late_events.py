"""Settling a re-rating of a finalized invoice: a credit note and/or a corrective invoice.

The finalized invoice is never changed. What its usage fees amount to now (re-rated by the
usage reaction `bxb.usage_reactions.late_events`) is compared with what was billed so far
(the invoice, then each earlier re-rating), fee by fee (`bxb.billing.rerating`):

- fees that went down: one credit note on the invoice (reason ``other``), its items
  capped by what remains creditable of each fee; refunded up to what was paid when the
  invoice is paid (``payment_status`` succeeded), credited otherwise;
- fees that went up: one corrective invoice (Lago's ``subscription`` type, kind
  ``late_usage_<n>``) for the same subscription and period, with the same taxes as the
  original fees and their rate of discount, finalized at once.

Each re-rating is one LateEventRerating row, unique on (invoice, sequence), written in the
transaction of its documents while the invoice row is locked: a repeated or concurrent
run finds it and does nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.credit_notes import CreditItem, compute_credit
from bxb.billing.periods import local_day
from bxb.billing.rerating import Change, RatedFee, Rerating, compare, corrective_coupons
from bxb.billing.taxes import Tax, TaxableFee, compute_invoice_taxes
from bxb.ledger import notifications
from bxb.ledger.credit_note_issuing import creditable_invoice, issue_credit_note
from bxb.ledger.finalizing import finalize
from bxb.models import CreditNote, Fee, Invoice, LateEventRerating

CREDIT_NOTE_REASON = "other"


@dataclass
class Settled:
    """What a re-rating wrote (nothing when another run had already done it)."""

    rerating: LateEventRerating | None = None
    credit_note: CreditNote | None = None
    corrective_invoice: Invoice | None = None
    webhooks: list[uuid.UUID] = field(default_factory=list)


def rated_json(rated: Mapping[str, RatedFee]) -> dict[str, Any]:
    return {
        key: {"amount_cents": fee.amount_cents, "units": str(fee.units), "events": fee.events_count}
        for key, fee in rated.items()
    }


def rated_from_json(data: Mapping[str, Any]) -> dict[str, RatedFee]:
    return {
        key: RatedFee(int(v["amount_cents"]), Decimal(v["units"]), int(v["events"]))
        for key, v in data.items()
    }


async def latest_rerating(session: AsyncSession, invoice_id: uuid.UUID) -> LateEventRerating | None:
    row: LateEventRerating | None = await session.scalar(
        select(LateEventRerating)
        .where(LateEventRerating.invoice_id == invoice_id)
        .order_by(LateEventRerating.sequence.desc())
        .limit(1)
    )
    return row


async def settle(
    session: AsyncSession,
    invoice: Invoice,
    *,
    billed: Mapping[str, RatedFee],
    original_fees: Mapping[str, Fee],
    rated: Mapping[str, RatedFee],
    templates: Mapping[str, Fee],
    events_counts: dict[str, int],
    external_subscription_id: str,
    at: datetime,
    timezone: str,
) -> Settled:
    """Write the re-rating of `invoice` (locked by the caller) and its documents.

    `billed` is what was billed so far per fee key, `rated` what the fees amount to now;
    `original_fees` the invoice's fees by key, `templates` the re-rated fees (unsaved) by
    key, whose description and window a corrective fee copies.
    """
    latest = await latest_rerating(session, invoice.id)
    sequence = latest.sequence + 1 if latest is not None else 1
    change = compare(billed, rated)
    settled = Settled()
    if change.decreases:
        await _credit(session, invoice, change, original_fees, sequence, at, settled)
    if change.increases:
        await _bill(
            session,
            invoice,
            change.increases,
            original_fees,
            templates,
            sequence,
            at,
            timezone,
            settled,
        )
    row = LateEventRerating(
        organization_id=invoice.organization_id,
        invoice_id=invoice.id,
        sequence=sequence,
        external_subscription_id=external_subscription_id,
        amounts=rated_json(rated),
        events_counts=events_counts,
        credit_note_id=settled.credit_note.id if settled.credit_note else None,
        corrective_invoice_id=(
            settled.corrective_invoice.id if settled.corrective_invoice else None
        ),
        rerated_at=at,
    )
    session.add(row)
    await session.flush()
    settled.rerating = row
    return settled


async def _credit(
    session: AsyncSession,
    invoice: Invoice,
    change: Rerating,
    original_fees: Mapping[str, Fee],
    sequence: int,
    at: datetime,
    settled: Settled,
) -> None:
    state = await creditable_invoice(session, invoice)
    items = []
    for decrease in change.decreases:
        fee = original_fees.get(decrease.key)
        if fee is None:  # only a corrective invoice billed it: nothing here to credit
            continue
        amount = min(decrease.amount_cents, state.fee(str(fee.id)).remaining_amount_cents)
        if amount > 0:
            items.append(CreditItem(str(fee.id), amount))
    if not items:
        return
    amounts = compute_credit(state, items)
    if amounts.total_amount_cents <= 0:
        return
    refund = 0
    if invoice.payment_status == "succeeded":
        refund = min(amounts.total_amount_cents, state.remaining_refundable_cents)
    period = _period_words(invoice)
    settled.credit_note, webhooks = await issue_credit_note(
        session,
        invoice,
        amounts,
        credit_amount_cents=amounts.total_amount_cents - refund,
        refund_amount_cents=refund,
        reason=CREDIT_NOTE_REASON,
        at=at,
        description=f"Late events re-rated the usage of {period}",
        idempotency_key=f"late_events:{invoice.id}:{sequence}",
    )
    settled.webhooks += webhooks


async def _bill(
    session: AsyncSession,
    invoice: Invoice,
    increases: Sequence[Change],
    original_fees: Mapping[str, Fee],
    templates: Mapping[str, Fee],
    sequence: int,
    at: datetime,
    timezone: str,
    settled: Settled,
) -> None:
    fees: list[Fee] = []
    taxable: list[TaxableFee] = []
    for position, increase in enumerate(increases):
        template = templates[increase.key]
        exact = original_fees.get(increase.key)
        original = exact or _sibling(original_fees, increase.key)
        coupons = (
            corrective_coupons(
                increase.amount_cents, exact.amount_cents, exact.coupons_amount_cents
            )
            if exact is not None
            else 0
        )
        taxes = _original_taxes(invoice, original.taxes_rate if original else Decimal(0))
        taxable.append(TaxableFee(increase.key, increase.amount_cents - coupons, taxes))
        fees.append(
            Fee(
                organization_id=invoice.organization_id,
                subscription_id=template.subscription_id,
                charge_id=template.charge_id,
                charge_filter_id=template.charge_filter_id,
                position=position,
                fee_type="charge",
                description=template.description,
                item_code=template.item_code,
                amount_cents=increase.amount_cents,
                precise_amount_cents=Decimal(increase.amount_cents),
                amount_currency=invoice.currency,
                coupons_amount_cents=coupons,
                units=increase.units,
                events_count=increase.events_count,
                from_datetime=template.from_datetime,
                to_datetime=template.to_datetime,
                amount_details={"corrects_invoice_id": str(invoice.id)},
            )
        )
    priced = compute_invoice_taxes(taxable)
    for fee, tax in zip(fees, priced.fees, strict=True):
        fee.taxes_amount_cents = tax.taxes_amount_cents
        fee.taxes_rate = tax.taxes_rate
    fees_amount = sum(fee.amount_cents for fee in fees)
    coupons_amount = sum(fee.coupons_amount_cents for fee in fees)
    names = {e["tax_code"]: e.get("tax_name", e["tax_code"]) for e in invoice.applied_taxes}
    rates = {t.code: t.rate for t in (a for f in priced.fees for a in f.applied_taxes)}
    corrective = Invoice(
        id=uuid.uuid4(),
        organization_id=invoice.organization_id,
        customer_id=invoice.customer_id,
        subscription_id=invoice.subscription_id,
        invoice_type="subscription",
        kind=f"late_usage_{sequence}",
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        status="draft",
        payment_status="pending",
        currency=invoice.currency,
        issuing_date=local_day(at, ZoneInfo(timezone)),
        fees_amount_cents=fees_amount,
        coupons_amount_cents=coupons_amount,
        taxes_amount_cents=priced.taxes_amount_cents,
        credit_notes_amount_cents=0,
        prepaid_credit_amount_cents=0,
        total_amount_cents=fees_amount - coupons_amount + priced.taxes_amount_cents,
        total_paid_amount_cents=0,
        net_payment_term=0,
        payment_overdue=False,
        metadata_=[
            {
                "lago_id": str(uuid.uuid4()),
                "key": "corrects_invoice",
                "value": invoice.number,
                "created_at": at.isoformat(),
            }
        ],
        applied_taxes=[
            {
                "tax_code": code,
                "tax_name": names.get(code, code),
                "tax_rate": float(rates[code]),
                "amount_cents": amount,
            }
            for code, amount in sorted(priced.amount_cents_by_tax.items())
        ],
        fees=fees,
    )
    session.add(corrective)
    await session.flush()
    await finalize(session, corrective, at)
    await session.flush()
    settled.corrective_invoice = corrective
    settled.webhooks += await notifications.invoice_event(session, corrective, "invoice.created")


def _sibling(original_fees: Mapping[str, Fee], key: str) -> Fee | None:
    """Another fee of the same window and charge (a filter that billed nothing before)."""
    window, charge, _ = key.split(":")
    prefix = f"{window}:{charge}:"
    return next((fee for k, fee in original_fees.items() if k.startswith(prefix)), None)


def _original_taxes(invoice: Invoice, rate: Decimal) -> tuple[Tax, ...]:
    """The taxes of the original invoice that made up a fee's rate.

    A fee records its total rate: the invoice's tax of that rate, else all its taxes when
    their rates add up to it, else one tax of that rate under the first tax's code.
    """
    if rate == 0:
        return ()
    entries = [(e["tax_code"], Decimal(str(e["tax_rate"]))) for e in invoice.applied_taxes]
    same = [(code, r) for code, r in entries if r == rate]
    if len(same) == 1:
        return (Tax(same[0][0], rate),)
    if entries and sum(r for _, r in entries) == rate:
        return tuple(Tax(code, r) for code, r in entries)
    return (Tax(entries[0][0] if entries else "tax", rate),)


def _period_words(invoice: Invoice) -> str:
    if invoice.period_start is None or invoice.period_end is None:
        return f"invoice {invoice.number}"
    return (
        f"{invoice.period_start.date().isoformat()} to {invoice.period_end.date().isoformat()}"
        f" (invoice {invoice.number})"
    )
