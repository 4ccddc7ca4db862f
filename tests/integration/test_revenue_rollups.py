"""The revenue rollups stay exact: after each change to the ledger (a draft finalized, a
payment, a credit note, a void, an instant fee put on an invoice) every rollup row equals
a recomputation from the raw invoices, fees and credit notes (the customer rollups by
month, quarter, year and all time included), every calendar period's top customers equal
the ranking of the recomputed sums, and the rollup-based gross revenue equals the one
computed from the ledger alone.

The changes go through the real paths where one exists (the ledger's finalize, the
payments and credit notes API, the void route); the recomputation below is written
independently of the triggers (docs/analytics.md, "Revenue").
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.analytics import lago_revenue, revenue_customers
from bxb.analytics.revenue_customers import Period
from bxb.analytics.revenue_periods import add_months, cents
from bxb.core.db import transaction
from bxb.ledger import finalizing
from bxb.models import Fee, Invoice
from tests.support import revenue_ledger as ledger
from tests.support.auth import Tenant
from tests.support.revenue_ledger import FeeSpec, InvoiceSpec

Key = tuple[Any, ...]
TODAY = date(2026, 12, 5)


def _nonzero(rows: dict[Key, tuple[Any, ...]]) -> dict[Key, tuple[Any, ...]]:
    return {key: value for key, value in rows.items() if any(value)}


async def _rollups(session: AsyncSession) -> dict[str, dict[Key, tuple[Any, ...]]]:
    tables = {
        "invoice": (
            "SELECT organization_id, currency, day, invoices_count, total_amount_cents, "
            "pending_count, pending_amount_cents, succeeded_count, succeeded_amount_cents, "
            "failed_count, failed_amount_cents, refund_amount_cents, credit_notes_count, "
            "credit_notes_amount_cents FROM revenue_invoice_daily",
            3,
        ),
        "fee": (
            "SELECT organization_id, currency, day, category, plan_code, metric_code, "
            "plan_interval, pay_in_advance, period_seconds, fees_count, amount_cents, "
            "taxes_amount_cents, units FROM revenue_fee_daily",
            9,
        ),
        "customer": (
            "SELECT organization_id, currency, month, customer_id, amount_cents "
            "FROM revenue_customer_monthly",
            4,
        ),
        "outstanding": (
            "SELECT organization_id, currency, due_date, invoices_count, amount_cents "
            "FROM revenue_outstanding_daily",
            3,
        ),
        "customer_period": (
            "SELECT organization_id, currency, granularity, period, customer_id, amount_cents "
            "FROM revenue_customer_periods",
            5,
        ),
    }
    found: dict[str, dict[Key, tuple[Any, ...]]] = {}
    for name, (query, width) in tables.items():
        rows = (await session.execute(text(query))).all()
        found[name] = _nonzero({tuple(r[:width]): tuple(r[width:]) for r in rows})
    return found


async def _recomputed(session: AsyncSession) -> dict[str, dict[Key, tuple[Any, ...]]]:
    """Every rollup from the raw rows, by their definitions."""
    invoices = {
        row.id: row
        for row in (await session.execute(text("SELECT * FROM invoices"))).mappings().all()
    }
    counted = {i for i, row in invoices.items() if row["status"] == "finalized"}
    invoice_rows: dict[Key, list[int]] = defaultdict(lambda: [0] * 11)
    outstanding: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    for invoice_id in counted:
        inv = invoices[invoice_id]
        sums = invoice_rows[(inv["organization_id"], inv["currency"], inv["issuing_date"])]
        sums[0] += 1
        sums[1] += inv["total_amount_cents"]
        for index, status in enumerate(("pending", "succeeded", "failed")):
            if inv["payment_status"] == status:
                sums[2 + 2 * index] += 1
                sums[3 + 2 * index] += inv["total_amount_cents"]
        owed = inv["total_amount_cents"] - inv["total_paid_amount_cents"]
        if inv["payment_status"] != "succeeded" and owed > 0 and inv["payment_due_date"]:
            due = outstanding[(inv["organization_id"], inv["currency"], inv["payment_due_date"])]
            due[0] += 1
            due[1] += owed
    customers: dict[Key, Decimal] = defaultdict(Decimal)
    notes = (await session.execute(text("SELECT * FROM credit_notes"))).mappings().all()
    for note in notes:
        if note["invoice_id"] not in counted:
            continue
        inv = invoices[note["invoice_id"]]
        invoice_rows[(inv["organization_id"], inv["currency"], inv["issuing_date"])][8] += note[
            "refund_amount_cents"
        ]
        own = invoice_rows[(note["organization_id"], note["currency"], note["issuing_date"])]
        own[9] += 1
        own[10] += note["sub_total_excluding_taxes_amount_cents"]
        month = note["issuing_date"].replace(day=1)
        customers[(note["organization_id"], note["currency"], month, note["customer_id"])] -= note[
            "sub_total_excluding_taxes_amount_cents"
        ]
    plans = (await session.execute(text("SELECT * FROM plans"))).mappings().all()
    plan_of_id = {p["id"]: p for p in plans}
    charges: dict[Any, Any] = dict(
        (await session.execute(text("SELECT id, plan_id FROM charges"))).all()
    )
    subscriptions: dict[Any, Any] = dict(
        (await session.execute(text("SELECT id, customer_id FROM subscriptions"))).all()
    )
    fee_rows: dict[Key, list[Any]] = defaultdict(lambda: [0, Decimal(0), 0, Decimal(0)])
    fees = (await session.execute(text("SELECT * FROM fees"))).mappings().all()
    for fee in fees:
        if fee["invoice_id"] is None:
            if not fee["pay_in_advance"]:
                continue
            category, day = "instant", fee["created_at"].astimezone(UTC).date()
            customer = subscriptions.get(fee["subscription_id"])
        elif fee["invoice_id"] in counted:
            inv = invoices[fee["invoice_id"]]
            category, day, customer = fee["fee_type"], inv["issuing_date"], inv["customer_id"]
        else:
            continue
        plan, metric, interval, advance, seconds = "", "", "", False, 0
        if fee["fee_type"] in ("subscription", "commitment"):
            plan = fee["item_code"]
        elif fee["charge_id"] is not None:
            metric = fee["item_code"]
            plan = plan_of_id[charges[fee["charge_id"]]]["code"]
        if fee["fee_type"] == "subscription":
            same = [p for p in plans if p["code"] == fee["item_code"] and p["parent_id"] is None]
            if same:
                interval, advance = same[0]["interval"], same[0]["pay_in_advance"]
            if fee["from_datetime"] and fee["to_datetime"]:
                seconds = int((fee["to_datetime"] - fee["from_datetime"]).total_seconds())
        net = fee["amount_cents"] - fee["precise_coupons_amount_cents"]
        key = (
            fee["organization_id"], fee["amount_currency"], day, category, plan, metric,
            interval, advance, seconds,
        )  # fmt: skip
        sums = fee_rows[key]
        sums[0] += 1
        sums[1] += net
        sums[2] += fee["taxes_amount_cents"]
        sums[3] += fee["units"]
        if category != "credit" and customer is not None:
            month = day.replace(day=1)
            customers[(fee["organization_id"], fee["amount_currency"], month, customer)] += net
    periods: dict[Key, Decimal] = defaultdict(Decimal)
    for (organization, currency, month, customer), amount in customers.items():
        for granularity, start in (
            ("quarter", month.replace(month=(month.month - 1) // 3 * 3 + 1)),
            ("year", month.replace(month=1)),
            ("all_time", date(1970, 1, 1)),
        ):
            periods[(organization, currency, granularity, start, customer)] += amount
    return {
        "invoice": _nonzero({k: tuple(v) for k, v in invoice_rows.items()}),
        "fee": _nonzero({k: tuple(v) for k, v in fee_rows.items()}),
        "customer": _nonzero({k: (v,) for k, v in customers.items()}),
        "outstanding": _nonzero({k: tuple(v) for k, v in outstanding.items()}),
        "customer_period": _nonzero({k: (v,) for k, v in periods.items()}),
    }


async def assert_top_customers_exact(
    session: AsyncSession, recomputed: dict[str, dict[Key, tuple[Any, ...]]]
) -> None:
    """Every calendar period's top customers, from its rollup, equal the ranking of the
    recomputed months (amount, then customer id), and so does the month-range path."""
    windows: set[tuple[Any, str, Period]] = set()
    for organization, currency, month, _customer in recomputed["customer"]:
        for granularity in revenue_customers.PERIODS:
            period = revenue_customers.calendar_period(granularity, month)
            windows.add((organization, currency, period))
    assert windows
    for organization, currency, period in windows:
        totals: dict[Any, Decimal] = defaultdict(Decimal)
        for (org, cur, month, customer), (amount,) in recomputed["customer"].items():
            holding = revenue_customers.calendar_period(period.granularity, month)
            if (org, cur, holding) == (organization, currency, period):
                totals[customer] += amount
        ranked = sorted(
            ((amount, customer) for customer, amount in totals.items() if amount),
            key=lambda item: (-item[0], item[1]),
        )
        expected = [(customer, cents(amount)) for amount, customer in ranked]
        found = await revenue_customers.top_customers_of_period(
            session, organization, currency, period, limit=100
        )
        assert [(c.lago_customer_id, c.amount_cents) for c in found] == expected, period
        if period.granularity != "all_time":
            months = {"month": 0, "quarter": 2, "year": 11}[period.granularity]
            summed = await revenue_customers.top_customers(
                session, organization, currency, period.start,
                add_months(period.start, months), limit=100,
            )  # fmt: skip
            assert summed == found


async def assert_exact(sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> None:
    async with sessions() as session:
        recomputed = await _recomputed(session)
        assert await _rollups(session) == recomputed
        await assert_top_customers_exact(session, recomputed)
        for currency in (None, "EUR", "USD"):
            from_rollups = await lago_revenue.gross_revenues(
                session, tenant.organization_id, currency, today=TODAY
            )
            from_ledger = await lago_revenue.gross_revenues_from_ledger(
                session, tenant.organization_id, currency, today=TODAY
            )
            assert from_rollups == from_ledger


async def test_rollups_equal_a_recomputation_after_every_change(
    live_api: str, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with httpx.AsyncClient(base_url=live_api, headers=tenant_a.headers, timeout=60) as client:
        charge = (await ledger.catalog(client, tenant_a))["charge"]
        await ledger.customer(sessions, tenant_a, "cus_1")
        await ledger.customer(sessions, tenant_a, "cus_2", currency="USD")
        november = date(2026, 11, 3)
        draft = await ledger.invoice(
            sessions,
            tenant_a,
            InvoiceSpec(
                "cus_1",
                november,
                [
                    FeeSpec(
                        "subscription", 10_000, "starter", 2_000, coupons_cents=1_000,
                        period=ledger.month_period(november),
                    ),
                    FeeSpec("charge", 3_000, "api_calls", 600, charge_id=charge, units=Decimal(30)),
                ],
                status="draft",
            ),
        )  # fmt: skip
        one_off = await ledger.invoice(
            sessions,
            tenant_a,
            InvoiceSpec(
                "cus_1", november, [FeeSpec("add_on", 5_000, "setup")], invoice_type="one_off"
            ),
        )
        dollars = await ledger.invoice(
            sessions,
            tenant_a,
            InvoiceSpec(
                "cus_2", date(2026, 10, 1), [FeeSpec("subscription", 120_000, "pro_yearly")],
                currency="USD",
            ),
        )  # fmt: skip
        await assert_exact(sessions, tenant_a)

        # The ledger's finalize: numbered, due date set, counted from now on.
        async with transaction(sessions) as session:
            row = await session.get(Invoice, draft.id, with_for_update=True)
            assert row is not None
            await finalizing.finalize(session, row, datetime(2026, 11, 3, tzinfo=UTC))
        await assert_exact(sessions, tenant_a)
        async with sessions() as session:
            gross = await lago_revenue.gross_revenues(
                session, tenant_a.organization_id, "EUR", today=TODAY
            )
        # 100.00 - 10.00 coupon + 20.00 VAT, 30.00 + 6.00 VAT, and the 50.00 one-off.
        assert [(g.amount_cents, g.invoices_count) for g in gross] == [
            (9_000 + 2_000 + 3_600 + 5_000, 2)
        ]

        # Payments: part, then the rest (pending -> succeeded).
        for amount in (4_000, 10_600):
            response = await client.post(
                "/api/v1/payments",
                json={
                    "payment": {
                        "invoice_id": str(draft.id),
                        "amount_cents": amount,
                        "reference": f"p{amount}",
                    }
                },
            )
            assert response.status_code == 200, response.text
            await assert_exact(sessions, tenant_a)

        # A credit note refunding 12.00 of the usage fee (10.00 + 2.00 VAT).
        async with sessions() as session:
            usage_fee = await session.scalar(
                select(Fee.id).where(Fee.invoice_id == draft.id, Fee.fee_type == "charge")
            )
        response = await client.post(
            "/api/v1/credit_notes",
            json={
                "credit_note": {
                    "invoice_id": str(draft.id),
                    "reason": "other",
                    "refund_amount_cents": 1_200,
                    "credit_amount_cents": 0,
                    "items": [{"fee_id": str(usage_fee), "amount_cents": 1_000}],
                }
            },
        )
        assert response.status_code == 200, response.text
        await assert_exact(sessions, tenant_a)

        # Void the unpaid one-off, then pay the dollar invoice and void it with a note.
        response = await client.post(f"/api/v1/invoices/{one_off.id}/void")
        assert response.status_code == 200, response.text
        await assert_exact(sessions, tenant_a)
        response = await client.post(
            "/api/v1/payments",
            json={
                "payment": {
                    "invoice_id": str(dollars.id),
                    "amount_cents": 120_000,
                    "reference": "usd",
                }
            },
        )
        assert response.status_code == 200, response.text
        response = await client.post(
            f"/api/v1/invoices/{dollars.id}/void", json={"generate_credit_note": True}
        )
        assert response.status_code == 200, response.text
        await assert_exact(sessions, tenant_a)

    # An instant fee on no invoice, later put on a finalized invoice, then taken off.
    async with transaction(sessions) as session:
        instant = Fee(
            organization_id=tenant_a.organization_id,
            fee_type="charge",
            description="instant",
            item_code="api_calls",
            charge_id=charge,
            amount_cents=250,
            precise_amount_cents=Decimal(250),
            amount_currency="EUR",
            units=Decimal(1),
            pay_in_advance=True,
            invoiceable=False,
        )
        session.add(instant)
        await session.flush()
        instant_id = instant.id
    await assert_exact(sessions, tenant_a)
    async with transaction(sessions) as session:
        fee = await session.get(Fee, instant_id)
        assert fee is not None
        fee.invoice_id = draft.id
    await assert_exact(sessions, tenant_a)
    async with transaction(sessions) as session:
        fee = await session.get(Fee, instant_id)
        assert fee is not None
        await session.delete(fee)
    await assert_exact(sessions, tenant_a)
    async with sessions() as session:
        recomputed = await _recomputed(session)
    assert any(key[0] == tenant_a.organization_id for key in recomputed["invoice"])
    assert uuid.UUID(int=0) not in {key[0] for key in recomputed["invoice"]}
