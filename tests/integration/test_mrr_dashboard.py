"""The MRR dashboard's input rules, and migration 0010b's backfill of subscriptions that
were active before MRR movements were recorded."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import MrrMonthlyTotal, MrrMovement, Plan, Subscription, SubscriptionTrial
from tests.integration.test_invoices import insert_customer
from tests.support.auth import Tenant

Sessions = async_sessionmaker[AsyncSession]
MIGRATION = Path(__file__).resolve().parents[2] / "bxb/migrations/versions/0010b_mrr_movements.py"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migration_0010b", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("currency=XYZ", "currency", "value_is_invalid"),
        ("from_date=yesterday", "from_date", "invalid_date"),
        ("to_date=2026-13-01", "to_date", "invalid_date"),
        ("from_date=2026-05-01&to_date=2026-04-30", "from_date", "value_is_invalid"),
        ("from_date=2000-01-01&to_date=2026-04-30", "from_date", "value_is_invalid"),
        ("to_date=9999-12-31", "to_date", "invalid_date"),
    ],
)
async def test_bad_queries_get_lagos_422(
    client: httpx.AsyncClient, tenant_a: Tenant, query: str, field: str, code: str
) -> None:
    for path in ("mrr", "mrr/movements", "churn", "retention", "arpa", "trials"):
        response = await client.get(f"/api/v1/dashboard/{path}?{query}", headers=tenant_a.headers)
        assert response.status_code == 422, response.text
        assert response.json()["error_details"] == {field: [code]}


async def test_documented_in_openapi(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for path, root in (
        ("mrr", "mrr"),
        ("mrr/movements", "mrr_movements"),
        ("churn", "churn"),
        ("retention", "retention"),
        ("arpa", "arpa"),
        ("trials", "trials"),
    ):
        operation = document["paths"][f"/api/v1/dashboard/{path}"]["get"]
        assert {p["name"] for p in operation["parameters"]} == {"currency", "from_date", "to_date"}
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        name = schema["$ref"].rpartition("/")[2]
        assert list(document["components"]["schemas"][name]["properties"]) == [root]


async def test_months_alone(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    query = "currency=EUR&from_date=2025-11&to_date=2026-02"
    response = await client.get(f"/api/v1/dashboard/arpa?{query}", headers=tenant_a.headers)
    assert response.status_code == 200, response.text
    [entry] = response.json()["arpa"]
    assert [m["month"][:10] for m in entry["months"]] == [
        "2025-11-01",
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
    ]
    assert {m["ltv_amount_cents"] for m in entry["months"]} == {None}


async def test_no_key_gets_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/dashboard/mrr")).status_code == 401


async def test_default_range_is_twelve_zero_filled_months(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    response = await client.get("/api/v1/dashboard/churn?currency=USD", headers=tenant_a.headers)
    assert response.status_code == 200, response.text
    [entry] = response.json()["churn"]
    assert entry["currency"] == "USD"
    months = entry["months"]
    assert len(months) == 12
    now = datetime.now(UTC)
    assert months[-1]["month"] == f"{now.year:04d}-{now.month:02d}-01T00:00:00Z"
    assert {m["logo_churn_rate"] for m in months} == {None}
    assert {m["customers_at_start"] for m in months} == {0}


async def test_backfill_of_active_subscriptions(sessions: Sessions, tenant_a: Tenant) -> None:
    org = tenant_a.organization_id
    jan, feb, mar = (datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3))
    first = await insert_customer(sessions, tenant_a, "cus_1")
    second = await insert_customer(sessions, tenant_a, "cus_2", sequential_id=2, currency="EUR")
    async with transaction(sessions) as session:
        plans = {}
        for code, interval, amount, currency, trial in (
            ("monthly", "monthly", 3100, "USD", None),
            ("yearly", "yearly", 120000, "USD", None),
            ("weekly", "weekly", 1000, "USD", None),
            ("trial", "monthly", 5000, "EUR", Decimal(14)),
        ):
            plan = Plan(
                organization_id=org,
                code=code,
                name=code,
                interval=interval,
                amount_cents=amount,
                amount_currency=currency,
                trial_period=trial,
            )
            session.add(plan)
            plans[code] = plan
        await session.flush()
        for external_id, customer, code, status, started, trial_ended in (
            ("sub_m", first, "monthly", "active", feb, None),
            ("sub_y", first, "yearly", "active", jan, None),
            ("sub_w", first, "weekly", "active", datetime(2026, 1, 20, tzinfo=UTC), None),
            ("sub_z", first, "monthly", "terminated", jan, None),  # no MRR now
            ("sub_p", first, "weekly", "paused", jan, None),  # no MRR while paused
            ("sub_t", second, "trial", "active", mar, None),  # in its trial
            ("sub_x", second, "trial", "active", jan, datetime(2026, 1, 15, tzinfo=UTC)),
        ):
            plan = plans[code]
            session.add(
                Subscription(
                    organization_id=org,
                    external_id=external_id,
                    customer_id=customer,
                    external_customer_id="cus",
                    plan_id=plan.id,
                    plan_code=code,
                    plan_amount_cents=plan.amount_cents,
                    plan_amount_currency=plan.amount_currency,
                    status=status,
                    billing_time="calendar",
                    subscription_at=started,
                    started_at=started,
                    trial_ended_at=trial_ended,
                    workflow_id=f"wf-{external_id}",
                )
            )
    migration = _migration()
    async with transaction(sessions) as session:
        await session.execute(text(migration.BACKFILL_MOVEMENTS))
        await session.execute(text(migration.BACKFILL_TRIALS))
        await session.execute(text(migration.BACKFILL_TOTALS))
    async with sessions() as session:
        movements = await session.execute(
            select(
                MrrMovement.external_subscription_id,
                MrrMovement.occurred_at,
                MrrMovement.kind,
                MrrMovement.currency,
                MrrMovement.mrr_after_cents,
                MrrMovement.delta_cents,
                MrrMovement.customer_mrr_after_cents,
                MrrMovement.trial_conversion,
            ).order_by(MrrMovement.occurred_at)
        )
        assert [tuple(m) for m in movements] == [
            # The customer's first subscription is new, its others expand it.
            ("sub_y", jan, "new", "USD", 10000, 10000, 10000, False),
            ("sub_x", datetime(2026, 1, 15, tzinfo=UTC), "new", "EUR", 5000, 5000, 5000, True),
            # 1000 a week x 52 / 12 = 4333.33
            (
                "sub_w",
                datetime(2026, 1, 20, tzinfo=UTC),
                "expansion",
                "USD",
                4333,
                4333,
                14333,
                False,
            ),
            ("sub_m", feb, "expansion", "USD", 3100, 3100, 17433, False),
        ]
        trials = await session.execute(
            select(SubscriptionTrial.external_subscription_id, SubscriptionTrial.started_at)
        )
        assert [tuple(t) for t in trials] == [("sub_t", mar)]
        totals = await session.execute(
            select(
                MrrMonthlyTotal.currency,
                MrrMonthlyTotal.month,
                MrrMonthlyTotal.kind,
                MrrMonthlyTotal.movements,
                MrrMonthlyTotal.delta_cents,
            ).order_by(MrrMonthlyTotal.month, MrrMonthlyTotal.currency, MrrMonthlyTotal.kind)
        )
        assert [tuple(t) for t in totals] == [
            ("EUR", jan, "new", 1, 5000),
            ("USD", jan, "expansion", 1, 4333),
            ("USD", jan, "new", 1, 10000),
            ("USD", feb, "expansion", 1, 3100),
        ]
