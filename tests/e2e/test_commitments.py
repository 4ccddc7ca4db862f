"""Minimums billed through real Temporal and a test clock: a plan's minimum commitment
(partial first period, in arrears and in advance) and a charge's min_amount_cents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Invoice
from tests.support.auth import Tenant
from tests.support.subscriptions import SubscriptionApi

pytestmark = pytest.mark.slow


async def _invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        rows = await session.scalars(select(Invoice).order_by(Invoice.sequential_id))
        return list(rows)


async def _metric(api: SubscriptionApi) -> str:
    body = {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
    metric = await api.ok("POST", "/api/v1/billable_metrics", {"billable_metric": body})
    lago_id: str = metric["billable_metric"]["lago_id"]
    return lago_id


async def _events(api: SubscriptionApi, days: list[str]) -> None:
    for n, day in enumerate(days):
        event = {
            "transaction_id": f"call_{day}_{n}",
            "external_subscription_id": "sub_1",
            "code": "calls",
            "timestamp": int(datetime.fromisoformat(f"{day}T09:00:00+00:00").timestamp()),
        }
        await api.ok("POST", "/api/v1/events", {"event": event})


async def _preview(api: SubscriptionApi) -> dict[str, Any]:
    body = {"customer": {"external_id": "cus_1"}, "subscriptions": {"external_ids": ["sub_1"]}}
    return await api.ok("POST", "/api/v1/invoices/preview", body)


def _fee(invoice: dict[str, Any], fee_type: str, *, true_up: bool = False) -> dict[str, Any]:
    fee: dict[str, Any]
    (fee,) = [
        f
        for f in invoice["fees"]
        if f["item"]["type"] == fee_type
        and (f["lago_true_up_parent_fee_id"] is not None) == true_up
    ]
    return fee


async def test_commitment_and_charge_minimum_on_a_partial_first_period(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = SubscriptionApi(temporal_client, tenant_a)
    await api.ok("POST", "/api/v1/taxes", {"tax": {"name": "Levy", "code": "levy", "rate": "10"}})
    await api.customer_on_clock("2026-01-15T10:00:00Z")
    metric = await _metric(api)
    await api.plan(
        amount_cents=1000,
        minimum_commitment={
            "amount_cents": 10000,
            "invoice_display_name": "Committed spend",
            "tax_codes": ["levy"],
        },
        charges=[
            {
                "billable_metric_id": metric,
                "charge_model": "standard",
                "properties": {"amount": "1"},
                "min_amount_cents": 2000,
            }
        ],
    )
    assert (await api.subscribe(billing_time="calendar")).status_code == 200
    await _events(api, ["2026-01-20", "2026-01-21", "2026-01-22"])
    # The preview of January's invoice already shows both true-ups (figures below).
    preview = (await _preview(api))["invoice"]
    assert [(f["item"]["type"], f["amount_cents"]) for f in preview["fees"]] == [
        ("subscription", 548),
        ("charge", 300),
        ("charge", 797),
        ("commitment", 3839),
    ]
    assert (preview["taxes_amount_cents"], preview["total_amount_cents"]) == (384, 5868)
    assert (await api.advance("2026-03-01T00:00:00Z")).status_code == 200

    january, february = await _invoices(sessions)
    # January 15-31: 17 of 31 days.
    #   base fee 1000 × 17/31 = 548.39 → 548; usage 3 × $1 = 300
    #   charge minimum 2000 × 17/31 = 1096.774…; true-up 1096.774 − 300 = 796.774 → 797
    #   commitment 10000 × 17/31 = 5483.87 → 5484; fees 548 + 300 + 797 = 1645;
    #   true-up 5484 − 1645 = 3839, taxed with the commitment's own 10 % levy: 383.9 → 384
    #   (the other fees have no taxes): total 548 + 300 + 797 + 3839 + 384 = 5868
    assert (
        january.fees_amount_cents,
        january.taxes_amount_cents,
        january.total_amount_cents,
    ) == (548 + 300 + 797 + 3839, 384, 5868)
    assert january.applied_taxes == [
        {"tax_code": "levy", "tax_name": "Levy", "tax_rate": 10.0, "amount_cents": 384}
    ]
    # February (28 days, no usage): 1000 + charge true-up 2000 + commitment
    # 10000 − 3000 = 7000, levy 700: total 10700.
    assert (february.fees_amount_cents, february.total_amount_cents) == (10000, 10700)

    shown = (await api.ok("GET", f"/api/v1/invoices/{january.id}"))["invoice"]
    commitment = _fee(shown, "commitment")
    assert commitment["amount_cents"] == 3839
    assert commitment["item"]["invoice_display_name"] == "Committed spend"
    assert commitment["item"]["code"] == "basic"
    assert commitment["taxes_amount_cents"] == 384
    assert commitment["taxes_precise_amount"] == "3.839"
    assert commitment["units"] == "1"
    charge = _fee(shown, "charge")
    true_up = _fee(shown, "charge", true_up=True)
    assert (charge["amount_cents"], true_up["amount_cents"]) == (300, 797)
    assert true_up["lago_true_up_parent_fee_id"] == charge["lago_id"]
    assert charge["lago_true_up_fee_id"] == true_up["lago_id"]
    assert (true_up["units"], true_up["events_count"]) == ("1", 0)
    # precise: 2000 × 17 / 31 − 300 = 796.774193548… cents
    assert true_up["precise_amount"].startswith("7.96774193")


async def test_in_advance_plan_reconciles_its_commitment_on_the_next_invoice(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = SubscriptionApi(temporal_client, tenant_a)
    await api.ok("POST", "/api/v1/taxes", {"tax": {"name": "VAT", "code": "vat", "rate": "20"}})
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    metric = await _metric(api)
    await api.plan(
        amount_cents=1000,
        pay_in_advance=True,
        tax_codes=["vat"],
        minimum_commitment={"amount_cents": 5000},
        charges=[
            {
                "billable_metric_id": metric,
                "charge_model": "standard",
                "properties": {"amount": "1"},
            }
        ],
    )
    assert (await api.subscribe(billing_time="calendar")).status_code == 200
    await _events(api, ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"])
    preview = (await _preview(api))["invoice"]  # the invoice of February 1st (below)
    assert [(f["item"]["type"], f["amount_cents"]) for f in preview["fees"]] == [
        ("subscription", 1000),
        ("charge", 400),
        ("commitment", 3600),
    ]
    assert (preview["taxes_amount_cents"], preview["total_amount_cents"]) == (1000, 6000)
    assert (await api.advance("2026-02-01T00:00:00Z")).status_code == 200

    start, closing = await _invoices(sessions)
    # The start invoice bills January in advance: 1000 + VAT 200; no commitment yet.
    assert (start.kind, start.fees_amount_cents, start.total_amount_cents) == ("start", 1000, 1200)
    assert {f.fee_type for f in start.fees} == {"subscription"}
    # February 1st: January's 4 calls (400), February in advance (1000), and January's
    # commitment: 5000 − (1000 paid in advance + 400) = 3600, taxed by the plan's VAT (the
    # commitment has no taxes of its own): (400 + 1000 + 3600) × 20 % = 1000.
    assert closing.kind == "period_end"
    by_type = {f.fee_type: f for f in closing.fees}
    assert by_type["commitment"].amount_cents == 3600
    assert by_type["commitment"].description == "Minimum commitment"
    assert by_type["commitment"].from_datetime == datetime.fromisoformat("2026-01-01T00:00:00Z")
    assert by_type["commitment"].to_datetime == datetime.fromisoformat("2026-02-01T00:00:00Z")
    assert (closing.fees_amount_cents, closing.taxes_amount_cents) == (5000, 1000)
    assert closing.total_amount_cents == 6000


async def test_a_termination_reconciles_the_commitment_for_the_days_used(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = SubscriptionApi(temporal_client, tenant_a)
    await api.customer_on_clock("2026-01-01T00:00:00Z")
    await api.plan(amount_cents=1000, minimum_commitment={"amount_cents": 3100})
    assert (await api.subscribe(billing_time="calendar")).status_code == 200
    assert (await api.advance("2026-01-11T08:00:00Z")).status_code == 200
    await api.ok("DELETE", "/api/v1/subscriptions/sub_1")

    (invoice,) = await _invoices(sessions)
    # January 1-10 (the termination day belongs to what comes next): 10 of 31 days.
    # Base fee 1000 × 10/31 = 322.58 → 323; commitment 3100 × 10/31 = 1000; true-up 677.
    assert invoice.kind == "termination"
    by_type = {f.fee_type: f.amount_cents for f in invoice.fees}
    assert by_type == {"subscription": 323, "commitment": 677}
    assert invoice.total_amount_cents == 1000


async def test_a_draft_with_true_ups_is_refreshed_with_late_usage(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = SubscriptionApi(temporal_client, tenant_a)
    await api.customer_on_clock(
        "2026-01-01T00:00:00Z", billing_configuration={"invoice_grace_period": 3}
    )
    metric = await _metric(api)
    await api.plan(
        amount_cents=1000,
        minimum_commitment={"amount_cents": 5000},
        charges=[
            {
                "billable_metric_id": metric,
                "charge_model": "standard",
                "properties": {"amount": "1"},
                "min_amount_cents": 2000,
            }
        ],
    )
    assert (await api.subscribe(billing_time="calendar")).status_code == 200
    await _events(api, ["2026-01-05", "2026-01-06", "2026-01-07"])
    assert (await api.advance("2026-02-01T00:00:00Z")).status_code == 200
    (draft,) = await _invoices(sessions)
    # January: 1000 + 300 of calls + true-up 1700 (minimum 2000) = 3000; commitment 2000.
    amounts = sorted(f.amount_cents for f in draft.fees)
    assert (draft.status, amounts) == ("draft", [300, 1000, 1700, 2000])
    # A late call for January, then a refresh: 400 of calls, true-up 1600, the rest equal.
    await _events(api, ["2026-01-30"])
    refreshed = (await api.ok("PUT", f"/api/v1/invoices/{draft.id}/refresh"))["invoice"]
    fees = sorted(
        (f["item"]["type"], f["amount_cents"], f["lago_true_up_parent_fee_id"] is not None)
        for f in refreshed["fees"]
    )
    assert fees == [
        ("charge", 400, False),
        ("charge", 1600, True),
        ("commitment", 2000, False),
        ("subscription", 1000, False),
    ]
    assert refreshed["total_amount_cents"] == 5000
    assert (await api.advance("2026-02-04T00:00:00Z")).status_code == 200
    (final,) = await _invoices(sessions)
    assert (final.status, final.total_amount_cents) == ("finalized", 5000)
