"""Acceptance: revenue figures of a small business billed for four months on a test clock.

Three customers on one test clock from 2026-01-01, each with a monthly calendar plan:
- alice (EUR) on basic_eur: 20.00 in advance;
- bob (EUR) on metered_eur: 10.00 in arrears plus api calls at 0.50 each (sum of calls);
- carol (USD) on basic_usd: 30.00 in advance.
No taxes, no payment provider, payment term 0 days (due on the issuing day). Payments are
recorded by hand; alice's February invoice is voided unpaid; bob's February invoice is
paid, then 5.00 of its usage refunded by a credit note on March 1; carol's March invoice
is never paid (overdue). April's invoices are open on April 1.

Invoices, by issuing day (worked out from the plans):
  Jan 1  alice 2000 (paid)      carol 3000 USD (paid)
  Feb 1  alice 2000 (voided)    carol 3000 (paid)   bob 1000 + 40 calls 2000 = 3000 (paid)
  Mar 1  alice 2000 (paid)      carol 3000 (unpaid) bob 1000 + 10 calls  500 = 1500 (paid)
  Apr 1  alice 2000 (open)      carol 3000 (open)   bob 1000 + 0 calls = 1000 (open)
Every figure of the revenue analytics is checked against these, to the cent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Customer, Invoice
from tests.support.auth import Tenant

pytestmark = pytest.mark.slow


class Business:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client = client
        self.headers = tenant.headers
        self.clock_id = ""
        self.events = 0

    async def call(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        response = await self.client.request(
            method, path, json=body, params=params or None, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def customer(self, external_id: str, currency: str) -> None:
        body = {
            "external_id": external_id,
            "name": external_id.title(),
            "currency": currency,
            "test_clock_id": self.clock_id,
        }
        await self.call("POST", "/api/v1/customers", {"customer": body})

    async def plan(self, code: str, amount: int, currency: str, **extra: Any) -> None:
        body = {
            "name": code.replace("_", " ").title(),
            "code": code,
            "interval": "monthly",
            "amount_cents": amount,
            "amount_currency": currency,
            **extra,
        }
        await self.call("POST", "/api/v1/plans", {"plan": body})

    async def subscribe(self, customer: str, plan: str) -> None:
        body = {
            "external_customer_id": customer,
            "plan_code": plan,
            "external_id": f"sub_{customer}",
            "billing_time": "calendar",
        }
        await self.call("POST", "/api/v1/subscriptions", {"subscription": body})

    async def calls(self, when: str, count: int) -> None:
        self.events += 1
        event = {
            "transaction_id": f"tx_{self.events}",
            "external_subscription_id": "sub_bob",
            "code": "api_calls",
            "timestamp": int(datetime.fromisoformat(when).timestamp()),
            "properties": {"calls": count},
        }
        await self.call("POST", "/api/v1/events", {"event": event})

    async def advance(self, to: str) -> None:
        clock = await self.call(
            "POST",
            f"/api/v1/test_clocks/{self.clock_id}/advance",
            {"test_clock": {"frozen_time": to}},
        )
        assert clock["test_clock"]["status"] == "ready"

    async def pay(self, invoice: Invoice) -> None:
        body = {
            "invoice_id": str(invoice.id),
            "amount_cents": invoice.total_amount_cents,
            "reference": f"wire-{invoice.number}",
        }
        await self.call("POST", "/api/v1/payments", {"payment": body})


async def invoice_of(
    sessions: async_sessionmaker[AsyncSession], customer: str, issued: date
) -> Invoice:
    async with sessions() as session:
        found = (
            await session.scalars(
                select(Invoice)
                .join(Customer, Customer.id == Invoice.customer_id)
                .where(Customer.external_id == customer, Invoice.issuing_date == issued)
            )
        ).all()
    assert len(found) == 1, (customer, issued, found)
    return found[0]


def month(day: str) -> str:
    return f"{day}T00:00:00.000Z"


async def test_revenue_figures_of_four_billed_months(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    biz = Business(temporal_client, tenant_a)
    clock = await biz.call(
        "POST",
        "/api/v1/test_clocks",
        {"test_clock": {"name": "revenue", "frozen_time": "2026-01-01T00:00:00Z"}},
    )
    biz.clock_id = clock["test_clock"]["lago_id"]
    for external_id, currency in (("alice", "EUR"), ("bob", "EUR"), ("carol", "USD")):
        await biz.customer(external_id, currency)
    metric = await biz.call(
        "POST",
        "/api/v1/billable_metrics",
        {
            "billable_metric": {
                "name": "API calls",
                "code": "api_calls",
                "aggregation_type": "sum_agg",
                "field_name": "calls",
            }
        },
    )
    await biz.plan("basic_eur", 2_000, "EUR", pay_in_advance=True)
    await biz.plan(
        "metered_eur",
        1_000,
        "EUR",
        charges=[
            {
                "billable_metric_id": metric["billable_metric"]["lago_id"],
                "charge_model": "standard",
                "properties": {"amount": "0.50"},
            }
        ],
    )
    await biz.plan("basic_usd", 3_000, "USD", pay_in_advance=True)
    await biz.subscribe("alice", "basic_eur")
    await biz.subscribe("bob", "metered_eur")
    await biz.subscribe("carol", "basic_usd")

    # January: the in-advance invoices of Jan 1 are paid; bob makes 40 calls.
    await biz.pay(await invoice_of(sessions, "alice", date(2026, 1, 1)))
    await biz.pay(await invoice_of(sessions, "carol", date(2026, 1, 1)))
    await biz.calls("2026-01-10T12:00:00Z", 40)
    await biz.advance("2026-02-01T00:00:00Z")

    # February: alice's invoice voided unpaid; carol's and bob's paid; bob makes 10 calls.
    alice_february = await invoice_of(sessions, "alice", date(2026, 2, 1))
    await biz.call("POST", f"/api/v1/invoices/{alice_february.id}/void")
    await biz.pay(await invoice_of(sessions, "carol", date(2026, 2, 1)))
    bob_february = await invoice_of(sessions, "bob", date(2026, 2, 1))
    assert bob_february.total_amount_cents == 1_000 + 40 * 50
    await biz.pay(bob_february)
    await biz.calls("2026-02-10T12:00:00Z", 10)
    await biz.advance("2026-03-01T00:00:00Z")

    # March 1: alice and bob pay, carol does not; 5.00 of bob's February usage refunded.
    await biz.pay(await invoice_of(sessions, "alice", date(2026, 3, 1)))
    bob_march = await invoice_of(sessions, "bob", date(2026, 3, 1))
    assert bob_march.total_amount_cents == 1_000 + 10 * 50
    await biz.pay(bob_march)
    usage_fee = next(fee for fee in bob_february.fees if fee.fee_type == "charge")
    note = await biz.call(
        "POST",
        "/api/v1/credit_notes",
        {
            "credit_note": {
                "invoice_id": str(bob_february.id),
                "reason": "other",
                "refund_amount_cents": 500,
                "credit_amount_cents": 0,
                "items": [{"fee_id": str(usage_fee.id), "amount_cents": 500}],
            }
        },
    )
    assert note["credit_note"]["issuing_date"] == "2026-03-01"
    await biz.advance("2026-04-01T00:00:00Z")
    carol_march = await invoice_of(sessions, "carol", date(2026, 3, 1))
    assert (carol_march.payment_status, carol_march.payment_due_date) == (
        "pending",
        date(2026, 3, 1),
    )
    april = [await invoice_of(sessions, c, date(2026, 4, 1)) for c in ("alice", "bob", "carol")]
    assert [i.total_amount_cents for i in april] == [2_000, 1_000, 3_000]

    async def get(path: str, **params: str) -> Any:
        return await biz.call("GET", path, **params)

    # --- Lago's analytics (currency filter: only months with figures) ---
    gross = await get("/api/v1/analytics/gross_revenue", currency="EUR")
    assert [
        (g["month"], g["amount_cents"], g["invoices_count"]) for g in gross["gross_revenues"]
    ] == [
        (month("2026-01-01"), 2_000, 1),  # alice
        (month("2026-02-01"), 3_000 - 500, 1),  # bob less the refund; alice's voided
        (month("2026-03-01"), 2_000 + 1_500, 2),
        (month("2026-04-01"), 2_000 + 1_000, 2),
    ]
    gross_usd = await get("/api/v1/analytics/gross_revenue", currency="USD")
    assert [g["amount_cents"] for g in gross_usd["gross_revenues"]] == [3_000] * 4

    collection = await get("/api/v1/analytics/invoice_collection", currency="EUR")
    assert [
        (c["month"], c["payment_status"], c["invoices_count"], c["amount_cents"])
        for c in collection["invoice_collections"]
    ] == [
        (month("2026-01-01"), "succeeded", 1, 2_000),
        (month("2026-02-01"), "succeeded", 1, 3_000),
        (month("2026-03-01"), "succeeded", 2, 3_500),
        (month("2026-04-01"), "pending", 2, 3_000),
    ]
    collection_usd = await get("/api/v1/analytics/invoice_collection", currency="USD")
    assert [
        (c["payment_status"], c["amount_cents"]) for c in collection_usd["invoice_collections"]
    ] == [("succeeded", 3_000), ("succeeded", 3_000), ("pending", 3_000), ("pending", 3_000)]

    usage = await get("/api/v1/analytics/invoiced_usage", currency="EUR")
    assert [(u["month"], u["code"], u["amount_cents"]) for u in usage["invoiced_usages"]] == [
        (month("2026-04-01"), "api_calls", 0),
        (month("2026-03-01"), "api_calls", 500),
        (month("2026-02-01"), "api_calls", 2_000),
    ]

    # Lago's MRR: subscription fees in their issuing month (monthly plans), so bob's
    # January (billed in arrears) counts in February; alice's voided February drops out.
    mrr = await get("/api/v1/analytics/mrr", currency="EUR")
    assert [(m["month"], m["amount_cents"]) for m in mrr["mrrs"]] == [
        (month("2026-01-01"), 2_000),
        (month("2026-02-01"), 1_000),
        (month("2026-03-01"), 3_000),
        (month("2026-04-01"), 3_000),
    ]
    mrr_usd = await get("/api/v1/analytics/mrr", currency="USD")
    assert [m["amount_cents"] for m in mrr_usd["mrrs"]] == [3_000] * 4

    # Lago flags an invoice payment_overdue when collection gives up; with no provider
    # nothing was tried, so Lago's overdue balance is empty (the dashboard's is not).
    assert await get("/api/v1/analytics/overdue_balance") == {"overdue_balances": []}

    lago_usage = await get(
        "/api/v1/analytics/usage",
        currency="EUR",
        time_granularity="monthly",
        from_date="2026-01-01",
        to_date="2026-04-30",
    )
    assert [
        (u["start_of_period_dt"], u["end_of_period_dt"], u["amount_cents"], u["units"])
        for u in lago_usage["usages"]
    ] == [
        ("2026-02-01", "2026-02-28", 2_000, "40.0"),
        ("2026-03-01", "2026-03-31", 500, "10.0"),
        ("2026-04-01", "2026-04-30", 0, "0.0"),
    ]
    bob_only = await get(
        "/api/v1/analytics/usage",
        external_subscription_id="sub_bob",
        from_date="2026-02-01",
        to_date="2026-02-28",
    )
    assert [(u["start_of_period_dt"], u["amount_cents"]) for u in bob_only["usages"]] == [
        ("2026-02-01", 2_000)
    ]

    # --- the dashboard ---
    window = {"from_date": "2026-01-01", "to_date": "2026-04-30"}
    revenue = await get("/api/v1/dashboard/revenue", currency="EUR", **window)
    assert [
        (
            m["month"],
            m["recurring_amount_cents"],
            m["usage_amount_cents"],
            m["one_off_amount_cents"],
            m["gross_amount_cents"],
            m["credit_notes_amount_cents"],
            m["net_amount_cents"],
            m["invoices_count"],
        )
        for m in revenue["revenue"][0]["months"]
    ] == [
        (month("2026-01-01"), 2_000, 0, 0, 2_000, 0, 2_000, 1),
        (month("2026-02-01"), 1_000, 2_000, 0, 3_000, 0, 3_000, 1),
        (month("2026-03-01"), 3_000, 500, 0, 3_500, 500, 3_000, 2),
        (month("2026-04-01"), 3_000, 0, 0, 3_000, 0, 3_000, 2),
    ]
    both = await get("/api/v1/dashboard/revenue", **window)
    assert [
        (e["currency"], [m["net_amount_cents"] for m in e["months"]]) for e in both["revenue"]
    ] == [
        ("EUR", [2_000, 3_000, 3_000, 3_000]),
        ("USD", [3_000, 3_000, 3_000, 3_000]),
    ]

    daily = await get(
        "/api/v1/dashboard/revenue/daily",
        currency="EUR",
        from_date="2026-02-28",
        to_date="2026-03-02",
    )
    assert [
        (d["date"], d["gross_amount_cents"], d["credit_notes_amount_cents"], d["net_amount_cents"])
        for d in daily["daily_revenue"][0]["days"]
    ] == [("2026-02-28", 0, 0, 0), ("2026-03-01", 3_500, 500, 3_000), ("2026-03-02", 0, 0, 0)]

    by_plan = await get("/api/v1/dashboard/revenue/by_plan", currency="EUR", **window)
    assert [
        (p["plan_code"], p["recurring_amount_cents"], p["usage_amount_cents"], p["amount_cents"])
        for p in by_plan["revenue_by_plan"][0]["plans"]
    ] == [("basic_eur", 6_000, 0, 6_000), ("metered_eur", 3_000, 2_500, 5_500)]

    top = await get("/api/v1/dashboard/top_customers", **window)
    assert [
        (e["currency"], [(c["external_customer_id"], c["amount_cents"]) for c in e["customers"]])
        for e in top["top_customers"]
    ] == [
        ("EUR", [("alice", 6_000), ("bob", 3_000 + 1_500 + 1_000 - 500)]),
        ("USD", [("carol", 12_000)]),
    ]

    overdue = await get("/api/v1/dashboard/overdue", as_of="2026-04-01")
    assert overdue == {
        "overdue": [
            {
                "currency": "EUR",
                "as_of": "2026-04-01",
                "amount_cents": 0,  # April's invoices fall due today
                "invoices_count": 0,
                "aging": [
                    {"bucket": name, "amount_cents": 0, "invoices_count": 0}
                    for name in ("0_30", "31_60", "61_90", "over_90")
                ],
            },
            {
                "currency": "USD",
                "as_of": "2026-04-01",
                "amount_cents": 3_000,  # carol's March invoice, 31 days late
                "invoices_count": 1,
                "aging": [
                    {"bucket": "0_30", "amount_cents": 0, "invoices_count": 0},
                    {"bucket": "31_60", "amount_cents": 3_000, "invoices_count": 1},
                    {"bucket": "61_90", "amount_cents": 0, "invoices_count": 0},
                    {"bucket": "over_90", "amount_cents": 0, "invoices_count": 0},
                ],
            },
        ]
    }
