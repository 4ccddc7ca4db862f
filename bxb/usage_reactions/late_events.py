"""Late events: re-rating periods whose invoice is already final (issue 10, item 8).

An event is accepted whatever its timestamp (from 2000 to 24 h ahead). One whose timestamp
falls in a period already invoiced is stored like any other; the period close that billed
that period did not see it. With the organization's `late_events_rerating` on (the
default), this reaction finds the subscription's finalized invoices whose usage windows
now hold more events than were billed (one COUNT per window and metric code: events are
never changed nor deleted, so a different count is a different usage), re-rates their
usage fees with the period close's own code (`Invoicing.usage_lines` over the windows the
invoice recorded), and settles the difference (`bxb.ledger.late_events`): a credit note for
fees that went down, a corrective invoice for fees that went up. With the setting off,
such events stay stored and ignored (bxb's behaviour before issue 10).

Idempotent: a re-rating is recorded with the event counts it saw, under the invoice's row
lock; a repeated signal finds the counts unchanged and does nothing. The corrective
invoices created at the context's `now` are returned (also by a retried activity), so the
workflow collects them (it follows an invoice once).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from bxb.billing.aggregation import AggregationType
from bxb.billing.rerating import RatedFee
from bxb.core.db import transaction
from bxb.events.store import EventStore, StoredEvent
from bxb.ledger.credit_note_issuing import lock_invoice
from bxb.ledger.invoicing import Invoicing, UsageLines
from bxb.ledger.late_events import latest_rerating, rated_from_json, settle
from bxb.models import CreditNote, Fee, Invoice, LateEventRerating, Organization, Subscription
from bxb.payments.collect import has_payment_provider
from bxb.payments.refund_starts import start_credit_note_refund
from bxb.usage_reactions.context import UsageContext
from bxb.usage_reactions.interest import Connection, EventTest, Interest, SubscriptionKey
from bxb.webhooks import outbox
from bxb.workflows.billing_requests import (
    BillingRequest,
    BillingResult,
    SubscriptionRow,
    UsageWindow,
)


@dataclass(frozen=True)
class Billed:
    """What a finalized invoice billed usage from: its windows and the events it counted.

    A finalized invoice never changes, so this is cached per process by its id.
    """

    invoice_id: uuid.UUID
    windows: list[UsageWindow]
    counts: dict[str, int]


_BILLED: dict[uuid.UUID, Billed] = {}
MAX_CACHED = 10_000


async def react(
    sessions: async_sessionmaker[AsyncSession], events: EventStore, context: UsageContext
) -> list[BillingResult]:
    async with sessions() as session:
        enabled = await session.scalar(
            select(Organization.late_events_rerating).where(
                Organization.id == context.organization_id
            )
        )
        if not enabled:
            return []
        invoices = await _finalized_invoices(session, context)
        seen = await _seen_counts(session, invoices)
    if await _nothing_new(events, context, invoices, seen):
        return await _corrective_invoices(sessions, context)
    for billed in invoices:
        counts = await _counts(events, context, billed.windows)
        if counts != seen[billed.invoice_id]:
            await _rerate(sessions, events, context, billed.invoice_id, billed.windows, counts)
    return await _corrective_invoices(sessions, context)


async def _finalized_invoices(session: AsyncSession, context: UsageContext) -> list[Billed]:
    """The subscription's finalized invoices that billed usage, oldest first."""
    ids = list(
        await session.scalars(
            select(Invoice.id)
            .join(Subscription, Subscription.id == Invoice.subscription_id)
            .where(
                Invoice.organization_id == context.organization_id,
                Invoice.customer_id == context.customer_id,
                Subscription.external_id == context.external_id,
                Invoice.status == "finalized",
                Invoice.usage_windows.is_not(None),
            )
            .order_by(Invoice.period_start, Invoice.created_at)
        )
    )
    missing = [invoice_id for invoice_id in ids if invoice_id not in _BILLED]
    if missing:
        if len(_BILLED) + len(missing) > MAX_CACHED:
            _BILLED.clear()
        for invoice in await session.scalars(select(Invoice).where(Invoice.id.in_(missing))):
            windows = _windows(invoice)
            _BILLED[invoice.id] = Billed(invoice.id, windows, _billed_counts(invoice, windows))
    return [_BILLED[invoice_id] for invoice_id in ids]


async def _seen_counts(
    session: AsyncSession, invoices: Sequence[Billed]
) -> dict[uuid.UUID, dict[str, int]]:
    """The events counted when each invoice was last rated (it, or its last re-rating)."""
    seen = {billed.invoice_id: billed.counts for billed in invoices}
    if not invoices:
        return seen
    rows = await session.execute(
        select(LateEventRerating.invoice_id, LateEventRerating.events_counts)
        .where(LateEventRerating.invoice_id.in_(list(seen)))
        .order_by(LateEventRerating.sequence)
    )
    for invoice_id, counts in rows:  # the latest of each invoice is read last
        seen[invoice_id] = {key: int(count) for key, count in counts.items()}
    return seen


def _windows(invoice: Invoice) -> list[UsageWindow]:
    return [UsageWindow.model_validate(w) for w in invoice.usage_windows or []]


async def _nothing_new(
    events: EventStore,
    context: UsageContext,
    invoices: Sequence[Billed],
    seen: dict[uuid.UUID, dict[str, int]],
) -> bool:
    """Whether no window holds more events than seen, in one COUNT per metric code.

    Sound when a code's windows follow each other without overlap or gap (events are only
    ever added, so a window that gained events makes the total over all of them grow);
    else False, and each window is counted on its own.
    """
    spans: dict[str, list[tuple[UsageWindow, int]]] = {}
    for billed in invoices:
        for index, window in enumerate(billed.windows):
            for code in {c.billable_metric.code for c in window.plan.charges}:
                count = seen[billed.invoice_id].get(_count_key(index, code), 0)
                spans.setdefault(code, []).append((window, count))
    for code, windows in spans.items():
        ordered = sorted(windows, key=lambda w: w[0].from_datetime)
        pairs = itertools.pairwise(ordered)
        if any(a.to_datetime != b.from_datetime for (a, _), (b, _) in pairs):
            return False
        result = await events.aggregate(
            context.organization_id,
            context.external_id,
            code,
            AggregationType.COUNT,
            None,
            ordered[0][0].from_datetime,
            ordered[-1][0].to_datetime,
        )
        if result.event_count != sum(count for _, count in ordered):
            return False
    return True


def _count_key(index: int, code: str) -> str:
    return f"{index}:{code}"


def fee_key(index: int, charge_id: uuid.UUID | None, filter_id: uuid.UUID | None) -> str:
    return f"{index}:{charge_id}:{filter_id or 'default'}"


async def _counts(
    events: EventStore, context: UsageContext, windows: Sequence[UsageWindow]
) -> dict[str, int]:
    """Events stored now in each window, per metric code its charges bill."""
    counts: dict[str, int] = {}
    for index, window in enumerate(windows):
        for code in sorted({c.billable_metric.code for c in window.plan.charges}):
            result = await events.aggregate(
                context.organization_id,
                context.external_id,
                code,
                AggregationType.COUNT,
                None,
                window.from_datetime,
                window.to_datetime,
            )
            counts[_count_key(index, code)] = result.event_count
    return counts


def _billed_counts(invoice: Invoice, windows: Sequence[UsageWindow]) -> dict[str, int]:
    """Events each window's fees counted: per code, those of the code's first charge (every
    charge of a code counts all its events; a filtered charge's fees split them)."""
    counts: dict[str, int] = {}
    for index, window in enumerate(windows):
        for charge in window.plan.charges:
            key = _count_key(index, charge.billable_metric.code)
            if key in counts:
                continue
            counts[key] = sum(
                fee.events_count or 0
                for fee in invoice.fees
                if fee.charge_id == charge.id and _in_window(fee, window)
            )
    return counts


def _in_window(fee: Fee, window: UsageWindow) -> bool:
    return (
        fee.fee_type == "charge"
        and fee.subscription_id == window.segment_id
        and fee.from_datetime == window.from_datetime
        and fee.to_datetime == window.to_datetime
    )


def _original_fees(invoice: Invoice, windows: Sequence[UsageWindow]) -> dict[str, Fee]:
    fees: dict[str, Fee] = {}
    for index, window in enumerate(windows):
        for fee in invoice.fees:
            if _in_window(fee, window):
                fees[fee_key(index, fee.charge_id, fee.charge_filter_id)] = fee
    return fees


def _rated(lines: UsageLines) -> tuple[dict[str, RatedFee], dict[str, Fee]]:
    rated: dict[str, RatedFee] = {}
    templates: dict[str, Fee] = {}
    for index, window_lines in enumerate(lines):
        for line in window_lines:
            key = fee_key(index, line.fee.charge_id, line.fee.charge_filter_id)
            rated[key] = RatedFee(line.fee.amount_cents, line.fee.units, line.fee.events_count or 0)
            templates[key] = line.fee
    return rated, templates


async def _segment_row(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, segment_id: uuid.UUID
) -> SubscriptionRow:
    async with sessions() as session:
        row = await session.scalar(
            select(Subscription).where(
                Subscription.organization_id == organization_id, Subscription.id == segment_id
            )
        )
    assert row is not None
    fields = {
        name: getattr(row, name) for name in SubscriptionRow.model_fields if name != "lago_id"
    }
    return SubscriptionRow(lago_id=row.id, **fields)


async def _rerate(
    sessions: async_sessionmaker[AsyncSession],
    events: EventStore,
    context: UsageContext,
    invoice_id: uuid.UUID,
    windows: list[UsageWindow],
    counts: dict[str, int],
) -> None:
    request = BillingRequest(
        kind="late_events",
        at=context.now,
        organization_id=context.organization_id,
        customer_id=context.customer_id,
        external_customer_id=context.external_customer_id,
        external_id=context.external_id,
        timezone=context.timezone,
        currency=context.currency,
        # Only the windows matter to usage_lines; the rest names what is re-rated.
        invoice_segment_id=windows[0].segment_id,
        invoice_period_start=windows[0].from_datetime,
        invoice_period_end=windows[-1].to_datetime,
        usage=windows,
        # The segment's row: its anchor and billing time place the windows in their charge
        # periods (min_amount true-ups are prorated by them, as at the period close).
        rows=[await _segment_row(sessions, context.organization_id, windows[0].segment_id)],
    )
    # Read before the transaction, as the period close does (the store may be elsewhere).
    rated, templates = _rated(await Invoicing(events).usage_lines(request))
    async with transaction(sessions) as session:
        invoice = await lock_invoice(session, context.organization_id, invoice_id)
        assert invoice is not None
        latest = await latest_rerating(session, invoice.id)
        if latest is not None and latest.events_counts == counts:
            return  # another run re-rated these very events
        original_fees = _original_fees(invoice, windows)
        billed = (
            rated_from_json(latest.amounts)
            if latest is not None
            else {
                key: RatedFee(fee.amount_cents, fee.units, fee.events_count or 0)
                for key, fee in original_fees.items()
            }
        )
        settled = await settle(
            session,
            invoice,
            billed=billed,
            original_fees=original_fees,
            rated=rated,
            templates=templates,
            events_counts=counts,
            external_subscription_id=context.external_id,
            at=context.now,
            timezone=context.timezone,
        )
    await _after_commit(settled.webhooks, settled.credit_note)


async def _after_commit(webhooks: list[uuid.UUID], note: CreditNote | None) -> None:
    """Deliver the webhooks and start a refund (a worker's start resumes lost ones)."""
    if not activity.in_activity():
        return
    client = activity.client()
    if webhooks:
        await outbox.dispatch(client, webhooks)
    if note is not None and note.refund_amount_cents:
        await start_credit_note_refund(client, note.id, note.created_at)


async def _corrective_invoices(
    sessions: async_sessionmaker[AsyncSession], context: UsageContext
) -> list[BillingResult]:
    """Corrective invoices re-rated at this `now` for the subscription, for collection."""
    async with sessions() as session:
        found = await session.scalars(
            select(Invoice)
            .join(LateEventRerating, LateEventRerating.corrective_invoice_id == Invoice.id)
            .where(
                LateEventRerating.organization_id == context.organization_id,
                LateEventRerating.external_subscription_id == context.external_id,
                LateEventRerating.rerated_at == context.now,
                Invoice.customer_id == context.customer_id,
            )
            .order_by(Invoice.created_at)
        )
        invoices = list(found)
        collectable = await has_payment_provider(session, context.customer_id)
    return [
        BillingResult(
            invoice_id=invoice.id,
            total_amount_cents=invoice.total_amount_cents,
            invoice_status=invoice.status,
            payment_status=invoice.payment_status,
            collectable=collectable,
        )
        for invoice in invoices
    ]


# Active subscriptions of organizations that re-rate late events, with the start of their
# current billing period: an event dated before it may fall in a period already invoiced.
_OPEN_PERIODS = """
SELECT s.organization_id, s.external_id, max(s.current_billing_period_started_at)
FROM subscriptions s
JOIN unnest($1::uuid[], $2::text[]) AS k(organization_id, external_id)
  USING (organization_id, external_id)
JOIN organizations o ON o.id = s.organization_id AND o.late_events_rerating
WHERE s.status = 'active' AND s.current_billing_period_started_at IS NOT NULL
GROUP BY s.organization_id, s.external_id
"""


def dated_before(start: datetime) -> EventTest:
    def test(event: StoredEvent) -> bool:
        return event.timestamp < start

    return test


async def _open_periods(
    conn: Connection, keys: Sequence[SubscriptionKey]
) -> dict[SubscriptionKey, EventTest]:
    rows = await conn.fetch(_OPEN_PERIODS, [k[0] for k in keys], [k[1] for k in keys])
    return {(r[0], r[1]): dated_before(r[2]) for r in rows}


LATE_EVENTS = Interest("late_events", _open_periods)
"""The watcher signals a subscription for an event dated before its current period."""
