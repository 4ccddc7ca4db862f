"""A subscription invoice's life through the API: draft in the grace period, refreshed,
finalized by the timer or by hand, voided, its payment retried; and one-off invoices."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.core.invoice_collection import resume_unstarted_collections
from bxb.core.settings import Settings
from tests.integration.test_payments import insert_customer, insert_invoice
from tests.support.auth import Tenant
from tests.support.billing import Billing, attempt_statuses, invoices_of
from tests.support.stripe_cards import (
    DECLINING_CARD,
    GOOD_CARD,
    add_card,
    charges_of,
    stripe_customer,
)
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

USAGE_PLAN: dict[str, Any] = {
    "name": "Usage",
    "code": "usage",
    "interval": "monthly",
    "amount_cents": 1000,
    "amount_currency": "USD",
    "pay_in_advance": False,
}


async def _with_usage(billing: Billing, receiver: WebhookReceiver, grace_days: int) -> None:
    metric = {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
    created = await billing.ok("POST", "/api/v1/billable_metrics", {"billable_metric": metric})
    charge = {
        "billable_metric_id": created["billable_metric"]["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "0.10"},
    }
    plan = USAGE_PLAN | {"charges": [charge]}
    await billing.setup(receiver, GOOD_CARD, plan, invoice_grace_period=grace_days)


MARCH_10 = 1773100800  # 2026-03-10T00:00:00Z
MARCH_31_LATE = 1774998000  # 2026-03-31T23:00:00Z


async def _event(billing: Billing, transaction_id: str, timestamp: int) -> None:
    event = {
        "transaction_id": transaction_id,
        "external_subscription_id": "sub_1",
        "code": "calls",
        "timestamp": timestamp,
    }
    await billing.ok("POST", "/api/v1/events", {"event": event})


async def test_a_draft_is_refreshed_then_finalized_when_the_grace_period_ends(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await _with_usage(billing, receiver, grace_days=3)
    for n in range(3):
        await _event(billing, f"t{n}", MARCH_10)
    await billing.advance("2026-04-01T00:00:00Z")
    [draft] = await invoices_of(sessions)
    assert (draft.status, draft.number, draft.total_amount_cents) == ("draft", None, 1030)
    assert await attempt_statuses(sessions, draft.id) == []  # a draft is never charged
    # A late event for March arrives in the grace period; a refresh counts it.
    await _event(billing, "late", MARCH_31_LATE)
    refreshed = await billing.ok("PUT", f"/api/v1/invoices/{draft.id}/refresh")
    assert refreshed["invoice"]["status"] == "draft"
    assert refreshed["invoice"]["total_amount_cents"] == 1040
    await billing.advance("2026-04-03T23:00:00Z")
    [still] = await invoices_of(sessions)
    assert still.status == "draft"
    await billing.advance("2026-04-04T00:00:00Z")
    [final] = await invoices_of(sessions)
    assert (final.status, final.sequential_id, final.total_amount_cents) == ("finalized", 1, 1040)
    assert str(final.number).endswith("-000001")
    assert (final.payment_status, final.total_paid_amount_cents) == ("succeeded", 1040)
    charges = await charges_of(localstripe_url, billing.stripe_customer)
    assert [c.amount for c in charges if c.status == "succeeded"] == [1040]


async def test_a_draft_finalized_by_hand_is_numbered_and_charged_once(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, GOOD_CARD, USAGE_PLAN, invoice_grace_period=5)
    await billing.advance("2026-04-01T00:00:00Z")
    [draft] = await invoices_of(sessions)
    answer = await billing.ok("PUT", f"/api/v1/invoices/{draft.id}/finalize")
    assert answer["invoice"]["status"] == "finalized"
    assert answer["invoice"]["sequential_id"] == 1
    again = await stack.put(f"/api/v1/invoices/{draft.id}/finalize", headers=billing.headers)
    assert again.status_code == 405
    await billing.advance("2026-04-07T00:00:00Z")  # the grace timer finds nothing to do
    [final] = await invoices_of(sessions)
    assert (final.payment_status, final.sequential_id) == ("succeeded", 1)
    charges = await charges_of(localstripe_url, billing.stripe_customer)
    assert [c.amount for c in charges if c.status == "succeeded"] == [1000]


async def test_a_deleted_draft_is_never_finalized_numbered_or_charged(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, GOOD_CARD, USAGE_PLAN, invoice_grace_period=5)
    await billing.advance("2026-04-01T00:00:00Z")
    [draft] = await invoices_of(sessions)
    deleted = await billing.ok("DELETE", f"/api/v1/invoices/{draft.id}")
    assert deleted["invoice"]["status"] == "deleted"
    await billing.advance("2026-04-07T00:00:00Z")  # the grace timer finds no draft
    [gone] = await invoices_of(sessions)
    assert (gone.status, gone.sequential_id, gone.number) == ("deleted", None, None)
    assert await attempt_statuses(sessions, gone.id) == []
    # The next period is billed as usual (a draft, then finalized), and numbered first.
    await billing.advance("2026-05-07T00:00:00Z")
    invoices = await invoices_of(sessions)
    [april] = [i for i in invoices if i.id != gone.id]
    assert (april.status, april.sequential_id, april.payment_status) == (
        "finalized",
        1,
        "succeeded",
    )
    charges = await charges_of(localstripe_url, billing.stripe_customer)
    assert [c.amount for c in charges if c.status == "succeeded"] == [1000]


async def test_voiding_an_invoice_in_dunning_stops_the_retries(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, DECLINING_CARD, dunning_outcome="terminate")
    [invoice] = await invoices_of(sessions)
    assert await attempt_statuses(sessions, invoice.id) == ["failed"]
    voided = await billing.ok("POST", f"/api/v1/invoices/{invoice.id}/void")
    assert voided["invoice"]["status"] == "voided"
    await billing.advance("2026-03-09T00:00:00Z")
    assert await attempt_statuses(sessions, invoice.id) == ["failed"]  # no retry after the void
    assert await billing.subscription_status() == "active"
    refused = await stack.post(f"/api/v1/invoices/{invoice.id}/void", headers=billing.headers)
    assert refused.status_code == 405


async def test_retry_payment_after_a_new_card_pays_at_once(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, DECLINING_CARD)
    [invoice] = await invoices_of(sessions)
    await add_card(localstripe_url, billing.stripe_customer, GOOD_CARD, default=True)
    await billing.ok("POST", f"/api/v1/invoices/{invoice.id}/retry_payment")
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "succeeded"]
    await billing.advance("2026-03-09T00:00:00Z")  # dunning ended with the payment
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "succeeded"]
    [paid] = await invoices_of(sessions)
    assert paid.payment_status == "succeeded"
    done = await stack.post(f"/api/v1/invoices/{invoice.id}/retry_payment", headers=billing.headers)
    assert done.status_code == 405


async def test_a_one_off_invoice_is_charged_by_its_own_workflow(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, GOOD_CARD, USAGE_PLAN)
    add_on = {"name": "Setup", "code": "setup", "amount_cents": 5000, "amount_currency": "USD"}
    await billing.ok("POST", "/api/v1/add_ons", {"add_on": add_on})
    body = {"external_customer_id": "cus_1", "currency": "USD", "fees": [{"add_on_code": "setup"}]}
    created = await billing.ok("POST", "/api/v1/invoices", {"invoice": body})
    invoice_id = uuid.UUID(created["invoice"]["lago_id"])
    for _ in range(300):
        if await attempt_statuses(sessions, invoice_id) == ["succeeded"]:
            break
        await asyncio.sleep(0.1)
    assert await attempt_statuses(sessions, invoice_id) == ["succeeded"]
    charges = await charges_of(localstripe_url, billing.stripe_customer)
    assert [c.amount for c in charges if c.status == "succeeded"] == [5000]


async def test_a_worker_start_resumes_collections_the_api_could_not_start(
    stack: httpx.AsyncClient,
    temporal_env: WorkflowEnvironment,
    stripe_settings: Settings,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
) -> None:
    # A one-off invoice committed while Temporal was unreachable: nothing collects it.
    card_holder = await stripe_customer(localstripe_url, GOOD_CARD)
    customer_id = await insert_customer(sessions, tenant_a, provider_customer_id=card_holder)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, total=1200)
    queue = stripe_settings.temporal_task_queue
    started = await resume_unstarted_collections(sessions, temporal_env.client, queue)
    assert started == 1
    for _ in range(300):
        if await attempt_statuses(sessions, invoice_id) == ["succeeded"]:
            break
        await asyncio.sleep(0.1)
    assert await attempt_statuses(sessions, invoice_id) == ["succeeded"]
    # Once attempted, it is not started again.
    assert await resume_unstarted_collections(sessions, temporal_env.client, queue) == 0
    charges = await charges_of(localstripe_url, card_holder)
    assert [c.amount for c in charges if c.status == "succeeded"] == [1200]


async def test_retry_payment_after_dunning_gave_up_makes_a_new_attempt(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    await billing.setup(receiver, DECLINING_CARD, dunning_retry_days=[2])
    await billing.advance("2026-03-03T00:00:00Z")  # the campaign is over: past due
    [invoice] = await invoices_of(sessions)
    assert invoice.payment_overdue is True
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "failed"]
    await add_card(localstripe_url, billing.stripe_customer, GOOD_CARD, default=True)
    await billing.ok("POST", f"/api/v1/invoices/{invoice.id}/retry_payment")
    # A third attempt, not attempt 1's recorded failure replayed.
    assert await attempt_statuses(sessions, invoice.id) == ["failed", "failed", "succeeded"]
    [paid] = await invoices_of(sessions)
    assert (paid.payment_status, paid.payment_overdue) == ("succeeded", False)
