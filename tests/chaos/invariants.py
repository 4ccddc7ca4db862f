"""What must hold after every fault of a chaos run, checked against every source of truth.

Each check returns the violations it found (readable sentences, a few examples each) and
adds figures to `stats`. The ledger is read from PostgreSQL, the charges from localstripe,
the deliveries from the receiver and the workflows from Temporal.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from bxb.models import Customer, Event, Invoice, Payment, Subscription, Webhook
from bxb.workflows.subscription import SubscriptionWorkflow
from tests.chaos.stack import ChaosStack
from tests.support.stripe_cards import stripe_client

EXAMPLES = 5
WORKFLOW_CONCURRENCY = 32


@dataclass(frozen=True)
class Expected:
    """The ledger a run should have after `periods` (the starting ones included)."""

    organization_id: uuid.UUID
    subscriptions: int
    amount_cents: int
    period_starts: list[datetime]  # the instant each period started; the next one's end


@dataclass
class Report:
    violations: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def fail(self, what: str, examples: Iterable[Any], count: int | None = None) -> None:
        shown = list(examples)
        if shown or count:
            total = len(shown) if count is None else count
            self.violations.append(f"{what}: {total}, e.g. {shown[:EXAMPLES]}")


async def check_all(
    stack: ChaosStack, expected: Expected, acknowledged_events: list[str]
) -> Report:
    report = Report()
    invoices = await _invoices(stack, expected)
    check_invoices(report, invoices, expected)
    await check_payments(report, stack, invoices)
    await check_charges(report, stack, expected, invoices)
    await check_webhooks(report, stack, expected, invoices)
    await check_workflows(report, stack, expected)
    await check_events(report, stack, expected, acknowledged_events)
    return report


@dataclass(frozen=True)
class _Invoice:
    id: uuid.UUID
    subscription: str
    subscription_id: uuid.UUID | None
    kind: str
    period: tuple[datetime | None, datetime | None]
    status: str
    payment_status: str
    total: int
    paid: int
    sequential_id: int | None
    number: str | None


async def _invoices(stack: ChaosStack, expected: Expected) -> list[_Invoice]:
    async with stack.sessions() as session:
        rows = await session.execute(
            select(Invoice, Subscription.external_id)
            .outerjoin(Subscription, Subscription.id == Invoice.subscription_id)
            .where(Invoice.organization_id == expected.organization_id)
        )
        return [
            _Invoice(
                invoice.id,
                external_id or "",
                invoice.subscription_id,
                invoice.kind,
                (invoice.period_start, invoice.period_end),
                invoice.status,
                invoice.payment_status,
                invoice.total_amount_cents,
                invoice.total_paid_amount_cents,
                invoice.sequential_id,
                invoice.number,
            )
            for invoice, external_id in rows.all()
        ]


def check_invoices(report: Report, invoices: list[_Invoice], expected: Expected) -> None:
    """One invoice per subscription and period (the start's, then each close's), paid in
    full, numbered without gaps."""
    starts = expected.period_starts
    wanted = {("start", (starts[0], starts[1]))} | {
        ("period_end", (starts[i - 1], starts[i])) for i in range(1, len(starts) - 1)
    }
    found: dict[str, Counter[tuple[str, Any]]] = defaultdict(Counter)
    for invoice in invoices:
        found[invoice.subscription][(invoice.kind, invoice.period)] += 1
    report.fail(
        "subscriptions without all their invoices",
        [s for s, got in found.items() if set(got) != wanted],
        count=sum(1 for got in found.values() if set(got) != wanted)
        + (expected.subscriptions - len(found)),
    )
    report.fail(
        "invoices twice for one (subscription, period)",
        [(s, key) for s, got in found.items() for key, n in got.items() if n > 1],
    )
    report.fail(
        "invoices not paid in full",
        [
            (str(i.id), i.status, i.payment_status, i.total, i.paid)
            for i in invoices
            if (i.status, i.payment_status) != ("finalized", "succeeded")
            or i.paid != i.total
            or i.total != expected.amount_cents
        ],
    )
    numbered = sorted(i.sequential_id for i in invoices if i.sequential_id is not None)
    report.fail(
        "invoice numbers not 1..n",
        [n for n, want in zip(numbered, range(1, len(numbered) + 1), strict=True) if n != want],
    )
    numbers = Counter(i.number for i in invoices)
    report.fail("invoice numbers given twice", [n for n, c in numbers.items() if c > 1])
    report.stats["invoices"] = len(invoices)
    report.stats["last_invoice_number"] = numbered[-1] if numbered else 0


async def check_payments(report: Report, stack: ChaosStack, invoices: list[_Invoice]) -> None:
    """bxb's own record: one succeeded payment per invoice."""
    async with stack.sessions() as session:
        rows = await session.execute(
            select(Payment.invoice_id, Payment.status).where(
                Payment.invoice_id.in_([i.id for i in invoices])
            )
        )
        statuses = Counter((invoice_id, status) for invoice_id, status in rows.all())
    report.fail(
        "invoices without exactly one succeeded payment row",
        [str(i.id) for i in invoices if statuses[(i.id, "succeeded")] != 1],
    )
    report.stats["payment_rows"] = dict(Counter(status for _, status in statuses.elements()))


async def check_charges(
    report: Report, stack: ChaosStack, expected: Expected, invoices: list[_Invoice]
) -> None:
    """The provider's record: one successful PaymentIntent per invoice, for its amount."""
    async with stack.sessions() as session:
        card_holders = set(
            await session.scalars(
                select(Customer.provider_customer_id).where(
                    Customer.organization_id == expected.organization_id
                )
            )
        )
    v1 = stripe_client(stack.localstripe_url)
    page = await v1.payment_intents.list_async({"limit": 100})
    succeeded: dict[str, list[int]] = defaultdict(list)
    statuses: Counter[str] = Counter()
    async for intent in page.auto_paging_iter():
        data = intent.to_dict()
        if data.get("customer") not in card_holders:
            continue  # another test's
        statuses[data["status"]] += 1
        invoice_id = (data.get("metadata") or {}).get("lago_invoice_id")
        if data["status"] == "succeeded" and invoice_id:
            succeeded[invoice_id].append(data["amount"])
    by_id = {str(i.id): i for i in invoices}
    report.fail(
        "invoices charged other than once for their total",
        [
            (invoice_id, succeeded.get(invoice_id))
            for invoice_id, invoice in by_id.items()
            if succeeded.get(invoice_id) != [invoice.total]
        ],
    )
    report.fail("charges for unknown invoices", [i for i in succeeded if i not in by_id])
    report.stats["payment_intents"] = dict(statuses)


async def check_webhooks(
    report: Report, stack: ChaosStack, expected: Expected, invoices: list[_Invoice]
) -> None:
    """Every webhook delivered at least once (its receiver answered 2xx), each delivery of
    one webhook with the same id and body, and none missing: the receiver accepted
    subscription.started for each subscription, invoice.created for each invoice and
    invoice.payment_status_updated saying it succeeded."""
    async with stack.sessions() as session:
        rows = (
            await session.execute(
                select(Webhook.id, Webhook.status).where(
                    Webhook.organization_id == expected.organization_id
                )
            )
        ).all()
        subscription_ids = list(
            await session.scalars(
                select(Subscription.id).where(
                    Subscription.organization_id == expected.organization_id
                )
            )
        )
    report.fail(
        "webhooks not delivered (per bxb)", [(str(i), s) for i, s in rows if s != "succeeded"]
    )
    deliveries = list(stack.receiver.deliveries)
    bodies: dict[str, set[bytes]] = defaultdict(set)
    accepted: set[str] = set()
    news: set[tuple[str, str]] = set()
    for delivery in deliveries:
        if not delivery.verified:
            continue  # cut off: a sender killed mid-request (its signature fails)
        webhook_id = delivery.headers.get("x-bxb-webhook-id", "")
        bodies[webhook_id].add(delivery.body)
        if delivery.answered == 200:
            accepted.add(webhook_id)
            news.add(_news(delivery.payload))
    report.fail(
        "webhooks received with differing bodies", [w for w, b in bodies.items() if len(b) > 1]
    )
    report.fail(
        "deliveries whose X-Lago-Unique-Key is not X-Bxb-Webhook-Id",
        [
            d.headers.get("x-bxb-webhook-id")
            for d in deliveries
            if d.headers.get("x-lago-unique-key") != d.headers.get("x-bxb-webhook-id")
        ],
    )
    report.fail(
        "webhooks never accepted by the receiver",
        [str(i) for i, _ in rows if str(i) not in accepted],
    )
    wanted = (
        {("subscription.started", str(s)) for s in subscription_ids}
        | {("invoice.created", str(i.id)) for i in invoices}
        | {("invoice.payment_status_updated:succeeded", str(i.id)) for i in invoices}
    )
    report.fail("webhooks the receiver never accepted", sorted(wanted - news))
    repeats = Counter(d.headers.get("x-bxb-webhook-id", "") for d in deliveries)
    report.stats["webhooks"] = len(rows)
    report.stats["webhook_deliveries"] = len(deliveries)
    report.stats["webhook_deliveries_unverified"] = sum(1 for d in deliveries if not d.verified)
    report.stats["webhooks_delivered_more_than_once"] = sum(1 for n in repeats.values() if n > 1)


def _news(payload: dict[str, Any]) -> tuple[str, str]:
    """(webhook type, object's lago_id); a payment status update names the new status."""
    kind = payload["webhook_type"]
    thing = payload[payload["object_type"]]
    if kind == "invoice.payment_status_updated":
        kind = f"{kind}:{thing['payment_status']}"
    return kind, str(thing["lago_id"])


async def check_workflows(report: Report, stack: ChaosStack, expected: Expected) -> None:
    """No workflow stuck: each subscription's workflow runs, has caught up with its clock,
    retries nothing, owes no collection, and its next period close is ahead of its clock
    (on a test clock that instant is the next timer: the next advance wakes it)."""
    async with stack.sessions() as session:
        workflow_ids = list(
            await session.scalars(
                select(Subscription.workflow_id).where(
                    Subscription.organization_id == expected.organization_id,
                    Subscription.status == "active",
                )
            )
        )
    now = expected.period_starts[-2]
    gate = asyncio.Semaphore(WORKFLOW_CONCURRENCY)

    async def problem(workflow_id: str) -> str | None:
        handle = stack.client.get_workflow_handle(workflow_id)
        async with gate:
            try:
                description = await handle.describe()
                view = await handle.query(SubscriptionWorkflow.view)
            except RPCError as exc:
                return f"{workflow_id}: {exc.message}"
        state = view.state
        if description.status != WorkflowExecutionStatus.RUNNING:
            return f"{workflow_id}: {description.status}"
        if view.last_error is not None:
            return f"{workflow_id}: retrying {view.last_error}"
        if state.clock_time != now or view.caught_up_to != now:
            return f"{workflow_id}: at {state.clock_time}, caught up to {view.caught_up_to}"
        if state.period_end is None or state.period_end <= now:
            return f"{workflow_id}: next period end {state.period_end} is not ahead"
        if state.collections:
            return f"{workflow_id}: still collecting {len(state.collections)} invoice(s)"
        return None

    problems = await asyncio.gather(*(problem(w) for w in workflow_ids))
    report.fail("subscriptions' workflows stuck", [p for p in problems if p])
    report.fail(
        "live subscriptions", [], count=abs(expected.subscriptions - len(workflow_ids)) or None
    )
    report.stats["live_workflows"] = len(workflow_ids)


async def check_events(
    report: Report, stack: ChaosStack, expected: Expected, acknowledged: list[str]
) -> None:
    """Every usage event acknowledged with 200 is stored."""
    acknowledged = list(acknowledged)  # taken before the read: the poller goes on meanwhile
    async with stack.sessions() as session:
        stored = set(
            await session.scalars(
                select(Event.transaction_id).where(
                    Event.organization_id == expected.organization_id
                )
            )
        )
    report.fail("acknowledged events not stored", [t for t in acknowledged if t not in stored])
    report.stats["events_acknowledged"] = len(acknowledged)
