"""Acceptance (issue 10): pay-in-advance charges billed when their events arrive, on the
real Temporal dev server, through the HTTP API, with a test clock.

Plan "basic" (monthly, calendar, $10.00 in arrears), customer in UTC, no taxes:
- api calls:  sum of `calls`, standard $0.50 a call, pay in advance, invoiceable
- storage:    count of events, standard $0.20 an event, pay in advance, NOT invoiceable,
              paid fees regrouped on an invoice at period end
- seats:      sum of `seats`, standard $1.00 a seat, in arrears

Amounts by hand:
- Jan 10, 3 calls → $1.50 (150), its own invoice; 4 calls → $2.00 (200), another.
- Jan 10, two storage events → $0.20 (20) each, no invoice, payment pending.
- Jan 20, 2 seats (in arrears).
- Feb 1, the period-end invoice: $10.00 + 2 × $1.00 = 1200, no api calls or storage
  (billed already); the storage fee marked paid is regrouped on an advance_charges
  invoice of 20, the pending one is not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.models import Invoice, Webhook
from bxb.workflows.subscription import workflow_id
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.billing import Billing, attempt_statuses, invoices_of
from tests.support.stripe_cards import GOOD_CARD, charges_of
from tests.support.subscriptions import SubscriptionApi
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow


@pytest.fixture
async def api(
    temporal_settings: Settings, worker: str, tenant_a: Tenant
) -> AsyncIterator[SubscriptionApi]:
    async for client in app_client(create_app(temporal_settings)):
        yield SubscriptionApi(client, tenant_a)


async def _metric(api: SubscriptionApi, code: str, aggregation: str, field: str | None) -> str:
    body = {"name": code.title(), "code": code, "aggregation_type": aggregation}
    if field:
        body["field_name"] = field
    metric = await api.ok("POST", "/api/v1/billable_metrics", {"billable_metric": body})
    return str(metric["billable_metric"]["lago_id"])


async def _event(api: SubscriptionApi, tx: str, code: str, **properties: Any) -> None:
    event = {
        "transaction_id": tx,
        "external_subscription_id": "sub_1",
        "code": code,
        "properties": properties,
    }
    await api.ok("POST", "/api/v1/events", {"event": event})


async def _fees(api: SubscriptionApi, count: int, within: float = 20.0) -> list[dict[str, Any]]:
    """The subscription's instant fees once there are `count` of them (they come after
    the events' acknowledgement, within a signal window and an activity)."""
    deadline = time.monotonic() + within
    while True:
        found = await api.ok("GET", "/api/v1/fees?external_subscription_id=sub_1&per_page=100")
        fees = [f for f in found["fees"] if f["event_transaction_id"] is not None]
        if len(fees) >= count:
            return sorted(fees, key=lambda f: str(f["event_transaction_id"]))
        assert time.monotonic() < deadline, f"{len(fees)} fees, not {count}"
        await asyncio.sleep(0.1)


async def _invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        return list(await session.scalars(select(Invoice).order_by(Invoice.sequential_id)))


async def test_in_advance_charges_are_billed_per_event_and_not_again_at_period_end(
    api: SubscriptionApi,
    sessions: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    receiver: WebhookReceiver,
) -> None:
    secret = await api.ok("GET", "/api/v1/webhook_endpoints/signing_secret")
    receiver.secret = secret["webhook_signing_secret"]["secret"]
    endpoint = {"webhook_url": receiver.url, "signature_algo": "hmac"}
    await api.ok("POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    calls = await _metric(api, "api_calls", "sum_agg", "calls")
    storage = await _metric(api, "storage", "count_agg", None)
    seats = await _metric(api, "seats", "sum_agg", "seats")
    charges = [
        {
            "billable_metric_id": calls,
            "charge_model": "standard",
            "pay_in_advance": True,
            "invoiceable": True,
            "properties": {"amount": "0.50"},
        },
        {
            "billable_metric_id": storage,
            "charge_model": "standard",
            "pay_in_advance": True,
            "invoiceable": False,
            "regroup_paid_fees": "invoice",
            "properties": {"amount": "0.20"},
        },
        {"billable_metric_id": seats, "charge_model": "standard", "properties": {"amount": "1"}},
    ]
    await api.plan(amount_cents=1000, charges=charges)
    response = await api.subscribe(billing_time="calendar")
    assert response.status_code == 200, response.text
    assert (await api.advance("2026-01-10T00:00:00Z")).status_code == 200

    # Jan 10: each api call event is billed on its own invoice.
    await _event(api, "tx_1", "api_calls", calls=3)
    await _event(api, "tx_2", "api_calls", calls=4)
    await _event(api, "tx_3", "storage")
    await _event(api, "tx_4", "storage")
    fees = await _fees(api, 4)
    assert [
        (f["event_transaction_id"], f["amount_cents"], f["units"], f["invoiceable"]) for f in fees
    ] == [
        ("tx_1", 150, "3", True),
        ("tx_2", 200, "4", True),
        ("tx_3", 20, "1", False),
        ("tx_4", 20, "1", False),
    ]
    assert all(f["pay_in_advance"] for f in fees)
    assert [f["lago_invoice_id"] is None for f in fees] == [False, False, True, True]
    assert {f["payment_status"] for f in fees} == {"pending"}
    assert fees[0]["from_date"] == "2026-01-01T00:00:00Z"
    instant = await _invoices(sessions)
    assert [(i.kind, i.invoice_type, i.status, i.total_amount_cents) for i in instant] == [
        ("advance_charge", "subscription", "finalized", 150),
        ("advance_charge", "subscription", "finalized", 200),
    ]
    assert [i.payment_status for i in instant] == ["pending", "pending"]  # paid manually
    invoice = (await api.ok("GET", f"/api/v1/invoices/{fees[0]['lago_invoice_id']}"))["invoice"]
    assert [f["event_transaction_id"] for f in invoice["fees"]] == ["tx_1"]
    assert invoice["billing_periods"][0]["invoicing_reason"] == "in_advance_charge"

    # The same event again, and the workflow told twice more: nothing is billed twice.
    await _event(api, "tx_1", "api_calls", calls=3)
    handle = temporal_env.client.get_workflow_handle(workflow_id(tenant_a.organization_id, "sub_1"))
    await handle.signal("usage_arrived")
    await handle.signal("usage_arrived")
    assert (await api.advance("2026-01-15T00:00:00Z")).status_code == 200
    assert len(await _fees(api, 4)) == 4
    assert len(await _invoices(sessions)) == 2

    # A non-invoiceable fee is paid (outside bxb); the other stays pending.
    paid = await api.ok(
        "PUT", f"/api/v1/fees/{fees[2]['lago_id']}", {"fee": {"payment_status": "succeeded"}}
    )
    assert paid["fee"]["payment_status"] == "succeeded"
    assert paid["fee"]["succeeded_at"] is not None
    refused = await api.send(
        "PUT", f"/api/v1/fees/{fees[0]['lago_id']}", {"fee": {"payment_status": "succeeded"}}
    )
    assert (refused.status_code, refused.json()["code"]) == (405, "invoiced_fee")

    # Jan 20: seats, in arrears. Feb 1: the period closes.
    assert (await api.advance("2026-01-20T00:00:00Z")).status_code == 200
    await _event(api, "tx_5", "seats", seats=2)
    assert (await api.advance("2026-02-01T00:00:00Z")).status_code == 200
    invoices = await _invoices(sessions)
    period_end = [i for i in invoices if i.kind == "period_end"]
    assert [
        (i.total_amount_cents, [(f.item_code, f.amount_cents) for f in i.fees]) for i in period_end
    ] == [(1200, [("basic", 1000), ("seats", 200)])]
    regrouped = [i for i in invoices if i.kind == "advance_charges"]
    assert [
        (i.invoice_type, i.status, i.payment_status, i.total_amount_cents) for i in regrouped
    ] == [("advance_charges", "finalized", "succeeded", 20)]
    assert [f.pay_in_advance_event_transaction_id for f in regrouped[0].fees] == ["tx_3"]
    fees = await _fees(api, 4)
    assert [f["lago_invoice_id"] is None for f in fees] == [False, False, False, True]

    # fee.created for every fee, in the transaction that wrote it.
    async with sessions() as session:
        created = list(
            await session.scalars(select(Webhook).where(Webhook.webhook_type == "fee.created"))
        )
    assert sorted(w.payload["fee"]["event_transaction_id"] for w in created) == [
        "tx_1",
        "tx_2",
        "tx_3",
        "tx_4",
    ]


async def test_an_instant_fee_invoice_is_collected_like_any_other(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    """A Stripe customer: the invoice of an in-advance fee (3 calls × $0.50 = 150) is
    charged by the subscription's workflow, once, even when the workflow is told again."""
    billing = Billing(stack, tenant_a, localstripe_url)
    metric = await billing.ok(
        "POST",
        "/api/v1/billable_metrics",
        {
            "billable_metric": {
                "name": "Calls",
                "code": "api_calls",
                "aggregation_type": "sum_agg",
                "field_name": "calls",
            }
        },
    )
    charge = {
        "billable_metric_id": metric["billable_metric"]["lago_id"],
        "charge_model": "standard",
        "pay_in_advance": True,
        "properties": {"amount": "0.50"},
    }
    plan = {
        "name": "Metered",
        "code": "metered",
        "interval": "monthly",
        "amount_cents": 0,
        "amount_currency": "USD",
        "charges": [charge],
    }
    await billing.setup(receiver, GOOD_CARD, plan=plan)
    event = {"transaction_id": "tx_1", "external_subscription_id": "sub_1", "code": "api_calls"}
    await billing.ok("POST", "/api/v1/events", {"event": event | {"properties": {"calls": 3}}})

    async def paid() -> list[Invoice]:
        return [
            i
            for i in await invoices_of(sessions)
            if i.kind == "advance_charge" and i.payment_status == "succeeded"
        ]

    deadline = time.monotonic() + 30
    while not await paid():
        assert time.monotonic() < deadline, "the instant fee's invoice was not paid"
        await asyncio.sleep(0.2)
    [invoice] = await paid()
    assert (invoice.total_amount_cents, invoice.total_paid_amount_cents) == (150, 150)
    assert await attempt_statuses(sessions, invoice.id) == ["succeeded"]
    await billing.advance("2026-03-02T00:00:00Z")  # reacts again: nothing new to bill
    charges = await charges_of(localstripe_url, billing.stripe_customer)
    assert [(c.amount, c.status) for c in charges] == [(150, "succeeded")]
