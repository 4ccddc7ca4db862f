"""GET /api/v1/dashboard/top_customers by calendar period (`period`, `date`) and by
month range (`from_date`, `to_date`): the right customers, amounts and order for each
month, quarter, year and all time, ranges that are exactly a period answered alike,
other ranges summed; a void and a credit note move the periods they fall in; bad or
mixed filters get Lago's 422; another organization sees nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.analytics.revenue_periods import utc_today
from bxb.core.db import transaction
from bxb.models import Invoice
from tests.support import revenue_ledger as ledger
from tests.support.auth import Tenant
from tests.support.revenue_ledger import FeeSpec, InvoiceSpec

ROUTE = "/api/v1/dashboard/top_customers"


async def _seed(sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> dict[str, Any]:
    for name in ("alice", "bob", "carol"):
        await ledger.customer(sessions, tenant, name)
    await ledger.customer(sessions, tenant, "dave", currency="USD")

    async def bill(customer: str, on: date, cents: int, currency: str = "EUR") -> Invoice:
        return await ledger.invoice(
            sessions,
            tenant,
            InvoiceSpec(customer, on, [FeeSpec("add_on", cents, "setup")], currency=currency),
        )

    rows = {
        "alice_jan": await bill("alice", date(2026, 1, 15), 10_000),
        "alice_may": await bill("alice", date(2026, 5, 10), 5_000),
        "bob_feb": await bill("bob", date(2026, 2, 20), 12_000),
        "bob_dec": await bill("bob", date(2025, 12, 1), 50_000),
        "carol_may": await bill("carol", date(2026, 5, 3), 8_000),
        "dave_apr": await bill("dave", date(2026, 4, 1), 100_000, currency="USD"),
    }
    # 30.00 of carol's May invoice credited in July: July (Q3) goes to -30.00.
    await ledger.credit_note(
        sessions,
        rows["carol_may"],
        issuing_date=date(2026, 7, 2),
        sub_total_cents=3_000,
        taxes_cents=0,
        refund_cents=0,
    )
    return rows


async def _top(client: httpx.AsyncClient, tenant: Tenant, **params: str) -> list[Any]:
    response = await client.get(ROUTE, params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [
        (e["currency"], [(c["external_customer_id"], c["amount_cents"]) for c in e["customers"]])
        for e in response.json()["top_customers"]
    ]


async def test_top_customers_by_period_and_by_range(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rows = await _seed(sessions, tenant_a)

    async def eur(**params: str) -> list[tuple[str, int]]:
        found = await _top(client, tenant_a, currency="EUR", **params)
        assert [currency for currency, _ in found] == ["EUR"]
        return list(found[0][1])

    may = [("carol", 8_000), ("alice", 5_000)]
    assert await eur(period="month", date="2026-05-20") == may
    assert await eur(period="month", date="2026-06-01") == []
    q1 = [("bob", 12_000), ("alice", 10_000)]
    assert await eur(period="quarter", date="2026-02-01") == q1
    assert await eur(period="quarter", date="2026-08-31") == [("carol", -3_000)]
    year_2026 = [("alice", 15_000), ("bob", 12_000), ("carol", 5_000)]
    assert await eur(period="year", date="2026-06-30") == year_2026
    assert await eur(period="year", date="2025-01-01") == [("bob", 50_000)]
    everything = [("bob", 62_000), ("alice", 15_000), ("carol", 5_000)]
    assert await eur(period="all_time") == everything
    assert await eur(period="all_time", date="1999-01-01") == everything
    assert await eur(period="all_time", limit="2") == everything[:2]

    # Ranges that are exactly a calendar period, and one that is not (February to May).
    assert await eur(from_date="2026-05-01", to_date="2026-05-31") == may
    assert await eur(from_date="2026-01-10", to_date="2026-03-02") == q1
    assert await eur(from_date="2026-01-01", to_date="2026-12-31") == year_2026
    assert await eur(from_date="2026-02-01", to_date="2026-05-31") == [
        ("bob", 12_000),
        ("carol", 8_000),
        ("alice", 5_000),
    ]
    assert await eur(from_date="2025-12-01", to_date="2026-02-28") == [
        ("bob", 62_000),
        ("alice", 10_000),
    ]

    # Every currency billed, one entry each; by default the current month.
    assert await _top(client, tenant_a, period="all_time") == [
        ("EUR", everything),
        ("USD", [("dave", 100_000)]),
    ]
    today = utc_today().isoformat()
    assert await _top(client, tenant_a) == await _top(client, tenant_a, period="month", date=today)

    # Voiding bob's December invoice takes it out of December, Q4 and 2025, and all time.
    async with transaction(sessions) as session:
        invoice = await session.get(Invoice, rows["bob_dec"].id)
        assert invoice is not None
        invoice.status = "voided"
    assert await eur(period="year", date="2025-12-31") == []
    assert await eur(period="quarter", date="2025-12-31") == []
    assert await eur(period="month", date="2025-12-31") == []
    assert await eur(period="all_time") == [("alice", 15_000), ("bob", 12_000), ("carol", 5_000)]


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("period=week", "period", "value_is_invalid"),
        ("period=MONTH", "period", "value_is_invalid"),
        ("period=month&date=2026-02-30", "date", "invalid_date"),
        ("period=month&from_date=2026-01-01", "period", "not_with_from_date_or_to_date"),
        ("date=2026-01-01&to_date=2026-03-31", "date", "not_with_from_date_or_to_date"),
        ("from_date=2026-05-01&to_date=2026-01-01", "from_date", "must_be_before_to_date"),
        ("period=year&limit=101", "limit", None),
    ],
)
async def test_bad_periods_get_lagos_422(
    client: httpx.AsyncClient, tenant_a: Tenant, query: str, field: str, code: str | None
) -> None:
    response = await client.get(f"{ROUTE}?{query}", headers=tenant_a.headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["status"], body["code"]) == (422, "validation_errors")
    assert field in body["error_details"]
    if code is not None:
        assert body["error_details"][field] == [code]


async def test_another_organization_sees_no_top_customers(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions, tenant_a)
    assert await _top(client, tenant_a, period="all_time", currency="EUR") != [("EUR", [])]
    for period in ("month", "quarter", "year", "all_time"):
        assert await _top(client, tenant_b, period=period, date="2026-05-10") == []
        assert await _top(client, tenant_b, period=period, currency="EUR") == [("EUR", [])]
    assert await _top(client, tenant_b, from_date="2025-01-01", to_date="2026-12-31") == []


async def test_documented_in_openapi(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"][ROUTE]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"currency", "period", "date", "from_date", "to_date", "limit"}
    assert "all_time" in parameters["period"]["description"]
    assert "period" in operation["description"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rpartition("/")[2]
    assert list(document["components"]["schemas"][name]["properties"]) == ["top_customers"]
