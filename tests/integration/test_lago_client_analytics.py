"""Lago's six /analytics operations through the unmodified lago-python-client, the
dashboard revenue routes, their filters' 422s, and organization isolation.

The ledger is seeded directly (the revenue rollups are kept by triggers whatever writes
the rows); every expected figure is worked out by hand below.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.add_on import AddOn
from lago_python_client.models.invoice import InvoiceFee, InvoiceFeesList, OneOffInvoice
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support import revenue_ledger as ledger
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors
from tests.support.revenue_ledger import FeeSpec, InvoiceSpec


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


def stamp(month: date) -> str:
    return f"{month.isoformat()}T00:00:00.000Z"


def previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


class Story:
    """Two months of a small ledger (this month and the last, by the wall clock)."""

    def __init__(self) -> None:
        self.this = datetime.now(UTC).date().replace(day=1)
        self.last = previous_month(self.this)


async def seed(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, client: httpx.AsyncClient
) -> tuple[Story, dict[str, Any]]:
    story = Story()
    charge = (await ledger.catalog(client, tenant))["charge"]
    await ledger.customer(sessions, tenant, "cus_eur")
    await ledger.customer(
        sessions, tenant, "cus_usd", currency="USD", customer_type="company", country="US"
    )
    year_start = datetime(story.this.year, story.this.month, 1, tzinfo=UTC)
    rows = {
        # A: this month, 100.00 subscription + 25.00 usage, 20 % VAT: 150.00, overdue.
        "a": await ledger.invoice(
            sessions,
            tenant,
            InvoiceSpec(
                "cus_eur",
                story.this,
                [
                    FeeSpec(
                        "subscription",
                        10_000,
                        "starter",
                        2_000,
                        period=ledger.month_period(story.this),
                    ),
                    FeeSpec(
                        "charge",
                        2_500,
                        "api_calls",
                        500,
                        charge_id=charge,
                        units=Decimal(25),
                        period=ledger.month_period(story.this),
                    ),
                ],
                payment_overdue=True,
            ),
        ),
        # B: last month, 100.00 + 20.00 VAT, paid; refunded 12.00 (10.00 + 2.00 VAT) on
        # the 2nd of this month.
        "b": await ledger.invoice(
            sessions,
            tenant,
            InvoiceSpec(
                "cus_eur",
                story.last,
                [
                    FeeSpec(
                        "subscription",
                        10_000,
                        "starter",
                        2_000,
                        period=ledger.month_period(story.last),
                    )
                ],
                payment_status="succeeded",
                paid_cents=12_000,
            ),
        ),
        # C: a yearly plan paid in advance, 1,200.00 USD for 365 days, payment failed.
        "c": await ledger.invoice(
            sessions,
            tenant,
            InvoiceSpec(
                "cus_usd",
                story.this,
                [
                    FeeSpec(
                        "subscription",
                        120_000,
                        "pro_yearly",
                        period=(year_start, year_start + timedelta(days=365)),
                    )
                ],
                currency="USD",
                payment_status="failed",
                payment_overdue=True,
            ),
        ),
        # D, a draft, and E, voided: in no figure.
        "d": await ledger.invoice(
            sessions,
            tenant,
            InvoiceSpec(
                "cus_eur",
                story.this,
                [FeeSpec("subscription", 5_000, "starter")],
                status="draft",
            ),
        ),
        "e": await ledger.invoice(
            sessions,
            tenant,
            InvoiceSpec(
                "cus_eur",
                story.last,
                [
                    FeeSpec(
                        "charge",
                        777,
                        "api_calls",
                        charge_id=charge,
                        units=Decimal(7),
                        period=ledger.month_period(story.last),
                    )
                ],
                status="voided",
            ),
        ),
    }
    await ledger.credit_note(
        sessions,
        rows["b"],
        issuing_date=story.this + timedelta(days=1),
        sub_total_cents=1_000,
        taxes_cents=200,
        refund_cents=1_200,
    )
    return story, rows


async def test_lago_client_reads_the_six_analytics(
    live_api: str, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    async with httpx.AsyncClient(base_url=live_api, timeout=60) as client:
        story, rows = await seed(sessions, tenant_a, client)
    # F: a one-off 10.00 GBP add-on, through the API (finalized today).
    await call(
        lago.add_ons.create,
        AddOn(name="Setup", code="setup", amount_cents=1_000, amount_currency="GBP"),
    )
    await ledger.customer(sessions, tenant_a, "cus_gbp", currency="GBP")
    await call(
        lago.invoices.create,
        OneOffInvoice(
            external_customer_id="cus_gbp",
            currency="GBP",
            fees=InvoiceFeesList(__root__=[InvoiceFee(add_on_code="setup")]),
        ),
    )
    this, last = stamp(story.this), stamp(story.last)

    gross = (await call(lago.gross_revenues.find_all))["gross_revenues"]
    assert [(g.month, g.currency, g.amount_cents, g.invoices_count) for g in gross] == [
        (last, "EUR", 12_000 - 1_200, 1),  # B less its refund; E voided
        (this, "EUR", 15_000, 1),  # A; D is a draft
        (this, "GBP", 1_000, 1),
        (this, "USD", 120_000, 1),
    ]
    recent = (await call(lago.gross_revenues.find_all, {"months": 1}))["gross_revenues"]
    assert [g.currency for g in recent] == ["EUR", "GBP", "USD"]
    eur = (
        await call(
            lago.gross_revenues.find_all, {"currency": "eur", "external_customer_id": "cus_eur"}
        )
    )["gross_revenues"]
    assert [(g.month, g.amount_cents) for g in eur] == [(last, 10_800), (this, 15_000)]

    collections = (await call(lago.invoice_collections.find_all, {"currency": "EUR"}))[
        "invoice_collections"
    ]
    assert [(c.month, c.payment_status, c.invoices_count, c.amount_cents) for c in collections] == [
        (last, "succeeded", 1, 12_000),
        (this, "pending", 1, 15_000),
    ]
    every = (await call(lago.invoice_collections.find_all))["invoice_collections"]
    assert [(c.month, c.payment_status, c.currency) for c in every][-3:] == [
        (this, "failed", "USD"),
        (this, "pending", "EUR"),
        (this, "pending", "GBP"),
    ]

    usage = (await call(lago.invoiced_usages.find_all))["invoiced_usages"]
    assert [(u.month, u.code, u.currency, u.amount_cents) for u in usage] == [
        (this, "api_calls", "EUR", 2_500)  # E's 7.77 was voided
    ]

    # Lago's MRR: subscription fees after coupons, with taxes. Monthly: in the issuing
    # month. Yearly in advance: 1,200.00 / (365 / 30.44) a month, the first month whole
    # (issued on its 1st): 120000 * 30.44 / 365 = 10007.67 -> 10008 cents.
    mrrs = (await call(lago.mrrs.find_all))["mrrs"]
    assert [(m.month, m.currency, m.amount_cents) for m in mrrs] == [
        (last, "EUR", 12_000),
        (this, "EUR", 12_000),
        (this, "USD", 10_008),
    ]
    assert Decimal("120000") * Decimal("30.44") / 365 == Decimal("10007.67123287671232876712329")

    overdue = (await call(lago.overdue_balances.find_all))["overdue_balances"]
    assert [(o.month, o.currency, o.amount_cents, o.lago_invoice_ids) for o in overdue] == [
        (this, "EUR", 15_000, [str(rows["a"].id)]),
        (this, "USD", 120_000, [str(rows["c"].id)]),
    ]
    one = (
        await call(
            lago.overdue_balances.find_all, {"currency": "USD", "external_customer_id": "cus_usd"}
        )
    )["overdue_balances"]
    assert [o.amount_cents for o in one] == [120_000]

    window = {"from_date": story.last.isoformat(), "to_date": story.this.isoformat()}
    usages = (await call(lago.usages.find_all, {**window, "time_granularity": "monthly"}))["usages"]
    end_of_month = (story.this + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    assert [
        (
            u.start_of_period_dt,
            u.end_of_period_dt,
            u.billable_metric_code,
            u.amount_currency,
            u.amount_cents,
            u.units,
            u.is_billable_metric_deleted,
        )
        for u in usages
    ] == [
        (
            story.this.isoformat(),
            end_of_month.isoformat(),
            "api_calls",
            "EUR",
            2_500,
            25.0,
            False,
        )
    ]
    for filters in (
        {"plan_code": "starter"},
        {"external_customer_id": "cus_eur"},
        {"is_billable_metric_recurring": "false"},
    ):
        found = (await call(lago.usages.find_all, {**window, **filters}))["usages"]
        assert [u.amount_cents for u in found] == [2_500], filters
    for filters in ({"customer_country": "US"}, {"billable_metric_code": "other"}):
        assert (await call(lago.usages.find_all, {**window, **filters}))["usages"] == []


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/v1/analytics/gross_revenue", "months=abc", "months"),
        ("/api/v1/analytics/gross_revenue", "months=0", "months"),
        ("/api/v1/analytics/mrr", "currency=XYZ", "currency"),
        ("/api/v1/analytics/invoice_collection", "currency=1", "currency"),
        ("/api/v1/analytics/usage", "time_granularity=hourly", "time_granularity"),
        ("/api/v1/analytics/usage", "from_date=2026-13-01", "from_date"),
        ("/api/v1/analytics/usage", "customer_type=robot", "customer_type"),
        (
            "/api/v1/analytics/usage",
            "is_billable_metric_recurring=maybe",
            "is_billable_metric_recurring",
        ),
        ("/api/v1/dashboard/revenue", "from_date=2026-05-01&to_date=2026-01-01", "from_date"),
        ("/api/v1/dashboard/revenue", "from_date=2000-01-01&to_date=2026-01-01", "from_date"),
        ("/api/v1/dashboard/revenue/daily", "to_date=yesterday", "to_date"),
        ("/api/v1/dashboard/revenue/daily", "from_date=2025-01-01&to_date=2026-06-01", "from_date"),
        ("/api/v1/dashboard/top_customers", "limit=0", "limit"),
        ("/api/v1/dashboard/overdue", "as_of=soon", "as_of"),
        ("/api/v1/dashboard/revenue/by_plan", "currency=euro", "currency"),
    ],
)
async def test_bad_filters_get_lagos_422(
    client: httpx.AsyncClient, tenant_a: Tenant, path: str, query: str, field: str
) -> None:
    response = await client.get(f"{path}?{query}", headers=tenant_a.headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["status"], body["code"]) == (422, "validation_errors")
    assert field in body["error_details"]


async def test_lago_client_errors_on_a_bad_filter(live_api: str, tenant_a: Tenant) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    with pytest.raises(LagoApiError) as error:
        await call(lago.mrrs.find_all, {"months": "-1"})
    assert error.value.status_code == 422


async def test_dashboard_revenue_figures(
    live_api: str, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with httpx.AsyncClient(base_url=live_api, headers=tenant_a.headers, timeout=60) as client:
        story, rows = await seed(sessions, tenant_a, client)

        async def get(path: str, **params: str) -> Any:
            response = await client.get(path, params=params)
            assert response.status_code == 200, response.text
            return response.json()

        window = {"from_date": story.last.isoformat(), "to_date": story.this.isoformat()}
        monthly = await get("/api/v1/dashboard/revenue", currency="EUR", **window)
        assert monthly == {
            "revenue": [
                {
                    "currency": "EUR",
                    "months": [
                        {
                            "month": stamp(story.last),
                            "recurring_amount_cents": 10_000,  # B before VAT; E voided
                            "usage_amount_cents": 0,
                            "one_off_amount_cents": 0,
                            "gross_amount_cents": 10_000,
                            "credit_notes_amount_cents": 0,
                            "net_amount_cents": 10_000,
                            "invoices_count": 1,
                        },
                        {
                            "month": stamp(story.this),
                            "recurring_amount_cents": 10_000,  # A; D is a draft
                            "usage_amount_cents": 2_500,
                            "one_off_amount_cents": 0,
                            "gross_amount_cents": 12_500,
                            "credit_notes_amount_cents": 1_000,  # B's note, before VAT
                            "net_amount_cents": 11_500,
                            "invoices_count": 1,
                        },
                    ],
                }
            ]
        }
        every = await get("/api/v1/dashboard/revenue", **window)
        assert [entry["currency"] for entry in every["revenue"]] == ["EUR", "USD"]
        assert [m["gross_amount_cents"] for m in every["revenue"][1]["months"]] == [0, 120_000]
        default = await get("/api/v1/dashboard/revenue", currency="EUR")
        assert len(default["revenue"][0]["months"]) == 12  # zero-filled, this month last
        assert default["revenue"][0]["months"][-1]["net_amount_cents"] == 11_500

        days = await get(
            "/api/v1/dashboard/revenue/daily",
            currency="EUR",
            from_date=story.this.isoformat(),
            to_date=(story.this + timedelta(days=2)).isoformat(),
        )
        assert [
            (
                d["date"],
                d["gross_amount_cents"],
                d["credit_notes_amount_cents"],
                d["net_amount_cents"],
            )
            for d in days["daily_revenue"][0]["days"]
        ] == [
            (story.this.isoformat(), 12_500, 0, 12_500),
            ((story.this + timedelta(days=1)).isoformat(), 0, 1_000, -1_000),
            ((story.this + timedelta(days=2)).isoformat(), 0, 0, 0),
        ]

        plans = await get("/api/v1/dashboard/revenue/by_plan", currency="EUR", **window)
        assert plans["revenue_by_plan"][0]["plans"] == [
            {
                "plan_code": "starter",
                "plan_name": "Starter",
                "recurring_amount_cents": 20_000,
                "usage_amount_cents": 2_500,
                "amount_cents": 22_500,
            }
        ]

        top = await get("/api/v1/dashboard/top_customers", **window)
        assert [
            (
                e["currency"],
                [(c["external_customer_id"], c["amount_cents"]) for c in e["customers"]],
            )
            for e in top["top_customers"]
        ] == [("EUR", [("cus_eur", 10_000 + 12_500 - 1_000)]), ("USD", [("cus_usd", 120_000)])]
        limited = await get("/api/v1/dashboard/top_customers", limit="1", currency="USD", **window)
        assert len(limited["top_customers"][0]["customers"]) == 1

        # A (EUR, 150.00) and C (USD, 1,200.00) fell due on the 1st; 45 days later both
        # are 31-60 days late. B is paid, D a draft, E voided.
        as_of = (story.this + timedelta(days=45)).isoformat()
        overdue = await get("/api/v1/dashboard/overdue", as_of=as_of)
        assert [
            (o["currency"], o["amount_cents"], o["invoices_count"], o["aging"][1])
            for o in overdue["overdue"]
        ] == [
            ("EUR", 15_000, 1, {"bucket": "31_60", "amount_cents": 15_000, "invoices_count": 1}),
            ("USD", 120_000, 1, {"bucket": "31_60", "amount_cents": 120_000, "invoices_count": 1}),
        ]
        on_due_date = await get(
            "/api/v1/dashboard/overdue", currency="EUR", as_of=story.this.isoformat()
        )
        assert on_due_date["overdue"][0]["amount_cents"] == 0  # due today: not yet late
        assert rows["a"].total_amount_cents == 15_000


async def test_another_organization_sees_none_of_it(
    live_api: str,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with httpx.AsyncClient(base_url=live_api, timeout=60) as client:
        await seed(sessions, tenant_a, client)
    lago = Client(api_key=tenant_b.api_key, api_url=live_api)
    assert (await call(lago.gross_revenues.find_all))["gross_revenues"] == []
    assert (await call(lago.invoiced_usages.find_all))["invoiced_usages"] == []
    assert (await call(lago.overdue_balances.find_all))["overdue_balances"] == []
    assert (await call(lago.gross_revenues.find_all, {"external_customer_id": "cus_eur"}))[
        "gross_revenues"
    ] == []
    assert all(
        c.invoices_count == 0
        for c in (await call(lago.invoice_collections.find_all))["invoice_collections"]
    )
    assert all(m.amount_cents is None for m in (await call(lago.mrrs.find_all))["mrrs"])
    assert (await call(lago.usages.find_all, {"from_date": "2020-01-01"}))["usages"] == []
    async with httpx.AsyncClient(base_url=live_api, headers=tenant_b.headers, timeout=60) as client:
        for path, root in (
            ("/api/v1/dashboard/revenue", "revenue"),
            ("/api/v1/dashboard/revenue/daily", "daily_revenue"),
            ("/api/v1/dashboard/revenue/by_plan", "revenue_by_plan"),
            ("/api/v1/dashboard/top_customers", "top_customers"),
            ("/api/v1/dashboard/overdue", "overdue"),
        ):
            response = await client.get(path)
            assert response.status_code == 200, response.text
            assert response.json() == {root: []}
        response = await client.get("/api/v1/dashboard/top_customers", params={"currency": "EUR"})
        assert response.json() == {"top_customers": [{"currency": "EUR", "customers": []}]}
        response = await client.get(
            "/api/v1/dashboard/overdue", params={"currency": "EUR", "as_of": "2100-01-01"}
        )
        assert response.json()["overdue"][0]["amount_cents"] == 0


async def test_answers_follow_lagos_schemas(
    live_api: str, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with httpx.AsyncClient(base_url=live_api, headers=tenant_a.headers, timeout=60) as client:
        story, _ = await seed(sessions, tenant_a, client)
        window = f"from_date={story.last.isoformat()}&to_date={story.this.isoformat()}"
        for path, schema in (
            ("gross_revenue?currency=EUR", "GrossRevenues"),
            ("invoice_collection?currency=EUR", "InvoiceCollections"),
            ("invoiced_usage", "InvoicedUsages"),
            ("mrr?currency=USD", "Mrrs"),
            ("overdue_balance", "OverdueBalances"),
            (f"usage?{window}", "Usages"),
        ):
            response = await client.get(f"/api/v1/analytics/{path}")
            assert response.status_code == 200, response.text
            answer = response.json()
            assert next(iter(answer.values())), path  # something to check
            assert lago_errors(schema, answer) == [], path
