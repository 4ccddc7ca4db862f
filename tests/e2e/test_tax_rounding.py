"""Taxes rounded once per tax of the invoice (Lago's way), through real Temporal: twelve
fees taxed at 20 % on the invoice, its preview, the current usage and credit notes."""

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

METRICS = [f"m{n}" for n in range(11)]


async def _setup(api: SubscriptionApi) -> None:
    await api.ok("POST", "/api/v1/taxes", {"tax": {"name": "VAT", "code": "vat", "rate": "20"}})
    await api.customer_on_clock("2026-01-01T00:00:00Z", tax_codes=["vat"])
    charges = []
    for code in METRICS:
        body = {"name": code.upper(), "code": code, "aggregation_type": "count_agg"}
        metric = await api.ok("POST", "/api/v1/billable_metrics", {"billable_metric": body})
        charges.append(
            {
                "billable_metric_id": metric["billable_metric"]["lago_id"],
                "charge_model": "standard",
                "properties": {"amount": "10.03"},
            }
        )
    await api.plan(amount_cents=1003, charges=charges)
    assert (await api.subscribe(billing_time="calendar")).status_code == 200
    stamp = int(datetime.fromisoformat("2026-01-10T09:00:00+00:00").timestamp())
    for code in METRICS:
        event = {
            "transaction_id": f"tx_{code}",
            "external_subscription_id": "sub_1",
            "code": code,
            "timestamp": stamp,
        }
        await api.ok("POST", "/api/v1/events", {"event": event})


async def _note(api: SubscriptionApi, invoice: dict[str, Any], each: int) -> dict[str, Any]:
    items = [{"fee_id": fee["lago_id"], "amount_cents": each} for fee in invoice["fees"]]
    estimate = await api.ok(
        "POST",
        "/api/v1/credit_notes/estimate",
        {"credit_note": {"invoice_id": invoice["lago_id"], "items": items}},
    )
    total = estimate["estimated_credit_note"]["max_creditable_amount_cents"]
    body = {"invoice_id": invoice["lago_id"], "items": items, "credit_amount_cents": total}
    note: dict[str, Any] = (await api.ok("POST", "/api/v1/credit_notes", {"credit_note": body}))[
        "credit_note"
    ]
    return note


async def test_twelve_fees_at_20_percent_are_taxed_once_on_their_sum(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    api = SubscriptionApi(temporal_client, tenant_a)
    await _setup(api)

    # Current usage: 11 charges of $10.03. VAT 20 % of 11033 = 2206.6 → 2207 (rounded per
    # fee it would be 11 × 201 = 2211).
    usage = (
        await api.ok("GET", "/api/v1/customers/cus_1/current_usage?external_subscription_id=sub_1")
    )["customer_usage"]
    assert (usage["amount_cents"], usage["taxes_amount_cents"]) == (11033, 2207)
    assert usage["total_amount_cents"] == 13240

    # The preview of the period's invoice, and the invoice itself: 12 fees of $10.03 =
    # 12036; VAT 2407.2 → 2407 (not 12 × 201 = 2412); total 14443.
    preview = await api.ok(
        "POST",
        "/api/v1/invoices/preview",
        {"customer": {"external_id": "cus_1"}, "subscriptions": {"external_ids": ["sub_1"]}},
    )
    totals = ("fees_amount_cents", "taxes_amount_cents", "total_amount_cents")
    assert [preview["invoice"][key] for key in totals] == [12036, 2407, 14443]

    assert (await api.advance("2026-02-01T00:00:00Z")).status_code == 200
    async with sessions() as session:
        (row,) = list(await session.scalars(select(Invoice)))
    shown = (await api.ok("GET", f"/api/v1/invoices/{row.id}"))["invoice"]
    assert [shown[key] for key in totals] == [12036, 2407, 14443]
    assert len(shown["fees"]) == 12
    assert [t["amount_cents"] for t in shown["applied_taxes"]] == [2407]
    # Every fee keeps its precise 200.6 cents; the integer shares add up to the invoice's.
    assert {fee["taxes_precise_amount"] for fee in shown["fees"]} == {"2.006"}
    assert sum(fee["taxes_amount_cents"] for fee in shown["fees"]) == 2407

    # A credit note of 5.01 on each fee: 6012, VAT 12 × 100.2 = 1202.4 → 1202 (Lago
    # rounds a note's taxes once per tax), total 7214.
    first = await _note(api, shown, 501)
    assert (first["sub_total_excluding_taxes_amount_cents"], first["taxes_amount_cents"]) == (
        6012,
        1202,
    )
    assert first["total_amount_cents"] == 7214
    # The rest (5.02 each): 6024 and the invoice's remaining 1205 of VAT, so both notes
    # together give back exactly the invoice's total.
    rest = await _note(api, shown, 502)
    assert (rest["taxes_amount_cents"], rest["total_amount_cents"]) == (1205, 7229)
    assert first["total_amount_cents"] + rest["total_amount_cents"] == 14443
