"""Activities of the subscription workflow: record each transition, billing it if due.

Each activity writes, in one transaction, the Postgres mirror rows of the subscription and
(when there is anything to bill) one invoice with its fees. The invoice is unique on
(subscription segment, period, kind): a retried or duplicated activity finds the invoice
it wrote before and returns it, so nothing is ever billed twice. With a grace period the
invoice is written as a draft, which the workflow finalizes when the grace period ends.

The activity names say what happened, so a subscription's history in the Temporal UI
reads like its story: start_subscription, end_trial, close_period, change_plan, ...
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, literal_column
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from bxb.activities import wallet_top_ups
from bxb.activities.guard import fails_fast
from bxb.core.db import transaction
from bxb.events.store import EventStore
from bxb.ledger import notifications
from bxb.ledger.billing_parties import InvoicedPeriod, hold_billing_parties, period_invoice_id
from bxb.ledger.finalizing import finalize, finalize_at, grace_period_days
from bxb.ledger.invoicing import Invoicing, UsageLines, new_invoice
from bxb.ledger.mrr_movements import record_mrr
from bxb.ledger.plan_snapshots import PlanSnapshots
from bxb.ledger.subscription_pauses import record_pause
from bxb.ledger.wallet_recurring import run_recurring_top_ups
from bxb.models import Invoice, Subscription
from bxb.payments.collect import has_payment_provider
from bxb.webhooks import outbox
from bxb.workflows.billing_requests import BillingRequest, BillingResult, SubscriptionRow

PAUSE_WEBHOOKS = {"pause": "subscription.paused", "resume": "subscription.resumed"}


class SubscriptionActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], events: EventStore) -> None:
        self.sessions = sessions
        self.invoicing = Invoicing(events)
        self.snapshots = PlanSnapshots(sessions)

    # One implementation, several names: the history shows which transition it was.
    @activity.defn(name="start_subscription")
    @fails_fast
    async def start_subscription(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="end_trial")
    @fails_fast
    async def end_trial(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="close_period")
    @fails_fast
    async def close_period(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="bill_usage")
    @fails_fast
    async def bill_usage(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="change_plan")
    @fails_fast
    async def change_plan(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="schedule_downgrade")
    @fails_fast
    async def schedule_downgrade(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="terminate_subscription")
    @fails_fast
    async def terminate_subscription(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="cancel_subscription")
    @fails_fast
    async def cancel_subscription(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="pause_subscription")
    @fails_fast
    async def pause_subscription(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="resume_subscription")
    @fails_fast
    async def resume_subscription(self, request: BillingRequest) -> BillingResult:
        return await self.record(request)

    @activity.defn(name="record_subscription")
    @fails_fast
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
            self.pause_subscription,
            self.resume_subscription,
            self.record_subscription,
        ]

    async def record(self, request: BillingRequest) -> BillingResult:
        # The input names stored plan snapshots by key (small histories): read them.
        request = await self.snapshots.hydrate(request)
        # Usage is read before the transaction: event stores may be another database.
        usage = await self.invoicing.usage_lines(request)
        async with transaction(self.sessions) as session:
            await _upsert_rows(session, request.rows)
            await record_pause(session, request)
            webhooks = await _subscription_webhooks(session, request)
            result = BillingResult()
            invoice, grace_days = None, 0
            if request.base_fees or request.usage or request.fixed_fees:
                period = _period(request)
                await hold_billing_parties(
                    session, request.customer_id, request.organization_id, period
                )
                invoice, grace_days = await self._invoice(session, request, period, usage, webhooks)
            if invoice is not None:
                webhook_type = "invoice.drafted" if invoice.status == "draft" else "invoice.created"
                webhooks += await notifications.invoice_event(session, invoice, webhook_type)
                result = BillingResult(
                    invoice_id=invoice.id,
                    invoice_number=invoice.number,
                    total_amount_cents=invoice.total_amount_cents,
                    invoice_status=invoice.status,
                    finalize_at=(
                        finalize_at(request.at, grace_days) if invoice.status == "draft" else None
                    ),
                    payment_status=invoice.payment_status,
                    collectable=await has_payment_provider(session, invoice.customer_id),
                )
            # Last in the transaction: it takes a lock per customer (mrr_movements.py).
            await record_mrr(session, request)
            consumed = invoice is not None and invoice.prepaid_credit_amount_cents > 0
        await dispatch_webhooks(webhooks)
        if consumed:  # threshold rules, right after the consumption (once per crossing)
            top_ups = await run_recurring_top_ups(self.sessions, customer_id=request.customer_id)
            await wallet_top_ups.after_commit(top_ups)
        return result

    async def _invoice(
        self,
        session: AsyncSession,
        request: BillingRequest,
        period: InvoicedPeriod,
        usage: UsageLines,
        webhooks: list[uuid.UUID],
    ) -> tuple[Invoice | None, int]:
        """The period's invoice: found if written before (a retry), else written now.

        None when there is nothing on it (unused prepaid days alone become a credit note
        on the invoice that billed them).
        """
        grace_days = await grace_period_days(session, request.customer_id)
        existing_id = period_invoice_id(session, period)
        if existing_id is not None:
            existing = await session.get(Invoice, existing_id)
            assert existing is not None
            # A draft deleted through the API stays deleted: nothing to bill or collect.
            return (None if existing.status == "deleted" else existing), grace_days
        invoice = new_invoice(request)
        final = grace_days == 0
        webhooks += await self.invoicing.compose(session, request, usage, invoice, final=final)
        if not invoice.fees:
            return None, grace_days
        session.add(invoice)  # inserted by the first query of finalize (autoflush), numbered
        if final:
            webhooks += await finalize(session, invoice, request.at, written_now=True)
        else:
            invoice.draft_source = request.model_dump(mode="json")
        await session.flush()
        return invoice, grace_days


def _period(request: BillingRequest) -> InvoicedPeriod:
    return InvoicedPeriod(
        request.invoice_segment_id,
        request.invoice_period_start,
        request.invoice_period_end,
        request.kind,
    )


async def _subscription_webhooks(session: AsyncSession, request: BillingRequest) -> list[uuid.UUID]:
    """subscription.started / subscription.terminated for the segments that did so now;
    subscription.paused / subscription.resumed for a pause or a resume (once per instant)."""
    ids: list[uuid.UUID] = []
    if request.kind in PAUSE_WEBHOOKS:
        row = request.rows[-1]  # the current segment
        mirror = await session.get(Subscription, row.lago_id)
        assert mirror is not None
        webhook_type = PAUSE_WEBHOOKS[request.kind]
        # Keyed on the subscription and the instant: a retry emits nothing new, a later
        # pause of the same subscription is another webhook.
        key = uuid.uuid5(row.lago_id, f"{webhook_type}:{request.at.isoformat()}")
        return await notifications.subscription_event(session, mirror, webhook_type, key)
    for row in request.rows:
        ended_at = row.terminated_at or row.canceled_at
        if row.status == "active" and row.started_at == request.at:
            webhook_type = "subscription.started"
        elif row.status in ("terminated", "canceled") and ended_at == request.at:
            webhook_type = "subscription.terminated"
        else:
            continue
        mirror = await session.get(Subscription, row.lago_id)
        assert mirror is not None
        ids += await notifications.subscription_event(session, mirror, webhook_type)
    return ids


async def dispatch_webhooks(ids: list[uuid.UUID]) -> None:
    """Start delivery of webhooks committed by this activity (idempotent on retries)."""
    if ids and activity.in_activity():
        await outbox.dispatch(activity.client(), ids)


_MIRROR_COLUMNS = [c for c in SubscriptionRow.model_fields if c != "lago_id"]
# The upsert's SET, built once: `statement.excluded` builds a proxy of the whole table for
# every statement (about 3 % of a worker's time in a billing cycle).
_MIRROR_UPDATES: dict[str, Any] = {
    name: literal_column(f'EXCLUDED."{Subscription.__table__.c[name].name}"')
    for name in _MIRROR_COLUMNS
    if name != "organization_id"
} | {"updated_at": func.now()}


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
    await session.execute(
        statement.on_conflict_do_update(index_elements=["id"], set_=_MIRROR_UPDATES)
    )
