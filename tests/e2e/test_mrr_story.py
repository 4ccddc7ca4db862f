"""MRR, churn, retention, ARPA and trials (issue 11): a known set of customers billed for
five months on one test clock, every figure checked against values computed here.

Plans (calendar billing, UTC): basic $31.00/month, pro $62.00/month, trial $31.00/month
with a 14-day trial (all in arrears), annual $1,200.00/year in advance (MRR $100.00),
basic_eur EUR 20.00/month.

    cus_a  basic Jan 1, upgraded to pro Feb 15 (at once)    new 3100, expansion +3100
    cus_b  pro Jan 1, downgrade to basic asked Feb 10        new 6200, contraction -3100 Mar 1
    cus_c  basic Jan 1, terminated Mar 10, basic again Apr 5 new 3100, churn, reactivation
    cus_d  trial plan Jan 10, trial ends Jan 24              new 3100 (a trial conversion)
    cus_e  basic_eur Jan 1, paused Apr 1, resumed May 1      EUR: new 2000, churn, reactivation
    cus_f  annual Jan 1                                      new 10000
    cus_g  trial plan Feb 1, terminated Feb 5 (in trial)     no MRR, a trial not converted
    cus_h  basic_eur at EUR 30.00 (plan_overrides) Jan 1     EUR: new 3000
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.analytics.mrr import current_mrr_by_currency, customer_counts, subscription_counts
from bxb.models import MrrMovement, SubscriptionTrial
from tests.support.auth import Tenant
from tests.support.mrr_story import (
    RANGE,
    Story,
    a_retried_activity_writes_nothing,
    movements_agree_with_invoices,
    rollup_is_the_sum_of_movements,
)

pytestmark = pytest.mark.slow

MONTHS = [f"2026-0{m}-01T00:00:00Z" for m in range(1, 6)]


def _column(months: list[dict[str, Any]], key: str) -> list[Any]:
    assert [m["month"] for m in months] == MONTHS
    return [m[key] for m in months]


def _at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


async def test_mrr_figures_of_five_months(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    temporal_env: WorkflowEnvironment,
) -> None:
    story = Story(temporal_client, tenant_a)
    org = tenant_a.organization_id
    await story.setup()
    for name, plan in (("a", "basic"), ("b", "pro"), ("c", "basic"), ("e", "basic_eur")):
        await story.subscribe(f"cus_{name}", plan, f"sub_{name}")
    await story.subscribe("cus_f", "annual", "sub_f")
    await story.subscribe("cus_h", "basic_eur", "sub_h", plan_overrides={"amount_cents": 3000})
    await story.advance("2026-01-10T00:00:00Z")
    await story.subscribe("cus_d", "trial", "sub_d")
    await story.advance("2026-02-01T00:00:00Z")
    await story.subscribe("cus_g", "trial", "sub_g")
    async with sessions() as session:
        assert await subscription_counts(session, org) == {
            "active": 7,  # a, b, c, d (its trial is over), e, f, h
            "trialing": 1,  # g
            "paused": 0,
        }
    await story.advance("2026-02-05T00:00:00Z")
    await story.ok("DELETE", "/api/v1/subscriptions/sub_g")
    await story.advance("2026-02-10T00:00:00Z")
    await story.subscribe("cus_b", "basic", "sub_b")  # a downgrade: at the period's end
    await story.advance("2026-02-15T00:00:00Z")
    await story.subscribe("cus_a", "pro", "sub_a")  # an upgrade: at once
    await story.advance("2026-03-10T00:00:00Z")
    await story.ok("DELETE", "/api/v1/subscriptions/sub_c")
    await story.advance("2026-04-01T00:00:00Z")
    pause = {"subscription": {"pause_at": "now", "resume_at": "2026-05-01T00:00:00Z"}}
    await story.ok("POST", "/api/v1/subscriptions/sub_e/pause", pause)
    async with sessions() as session:
        assert (await subscription_counts(session, org))["paused"] == 1
    await story.advance("2026-04-05T00:00:00Z")
    await story.subscribe("cus_c", "basic", "sub_c2")
    await story.advance("2026-06-01T00:00:00Z")

    # The movements, as the activities wrote them, at the billing time of each change.
    async with sessions() as session:
        movements = list(
            await session.scalars(
                select(MrrMovement).order_by(
                    MrrMovement.occurred_at, MrrMovement.external_subscription_id
                )
            )
        )
    assert [
        (
            m.external_subscription_id,
            m.occurred_at,
            m.kind,
            m.currency,
            m.mrr_before_cents,
            m.mrr_after_cents,
            m.delta_cents,
            m.plan_code_before,
            m.plan_code_after,
            m.trial_conversion,
        )
        for m in movements
    ] == [
        ("sub_a", _at(1, 1), "new", "USD", 0, 3100, 3100, None, "basic", False),
        ("sub_b", _at(1, 1), "new", "USD", 0, 6200, 6200, None, "pro", False),
        ("sub_c", _at(1, 1), "new", "USD", 0, 3100, 3100, None, "basic", False),
        ("sub_e", _at(1, 1), "new", "EUR", 0, 2000, 2000, None, "basic_eur", False),
        ("sub_f", _at(1, 1), "new", "USD", 0, 10000, 10000, None, "annual", False),
        ("sub_h", _at(1, 1), "new", "EUR", 0, 3000, 3000, None, "basic_eur", False),
        ("sub_d", _at(1, 24), "new", "USD", 0, 3100, 3100, None, "trial", True),
        ("sub_a", _at(2, 15), "expansion", "USD", 3100, 6200, 3100, "basic", "pro", False),
        ("sub_b", _at(3, 1), "contraction", "USD", 6200, 3100, -3100, "pro", "basic", False),
        ("sub_c", _at(3, 10), "churn", "USD", 3100, 0, -3100, "basic", None, False),
        ("sub_e", _at(4, 1), "churn", "EUR", 2000, 0, -2000, "basic_eur", None, False),
        ("sub_c2", _at(4, 5), "reactivation", "USD", 0, 3100, 3100, None, "basic", False),
        ("sub_e", _at(5, 1), "reactivation", "EUR", 0, 2000, 2000, None, "basic_eur", False),
    ]
    # cus_c's two subscriptions: its total went 3100 -> 0 -> 3100.
    assert [
        m.customer_mrr_after_cents
        for m in movements
        if m.external_subscription_id in ("sub_c", "sub_c2")
    ] == [3100, 0, 3100]

    await rollup_is_the_sum_of_movements(sessions, movements)
    await movements_agree_with_invoices(sessions, movements)
    await a_retried_activity_writes_nothing(story, sessions, engine, temporal_env, org)

    # MRR now and at each month's end: USD 5 customers, EUR 1.
    mrr = (await story.ok("GET", f"/api/v1/dashboard/mrr?{RANGE}"))["mrr"]
    assert [(e["currency"], e["mrr_amount_cents"], e["arr_amount_cents"]) for e in mrr] == [
        ("EUR", 5000, 60000),
        ("USD", 25500, 306000),
    ]
    usd = mrr[1]["months"]
    assert _column(usd, "mrr_amount_cents") == [25500, 28600, 22400, 25500, 25500]
    assert _column(usd, "arr_amount_cents") == [306000, 343200, 268800, 306000, 306000]
    assert _column(usd, "paying_customers") == [5, 5, 4, 5, 5]
    assert _column(mrr[0]["months"], "mrr_amount_cents") == [5000, 5000, 5000, 3000, 5000]

    moved = await story.figure("mrr/movements")
    usd = moved["USD"]
    # Jan: a 3100 + b 6200 + c 3100 + d 3100 + f 10000 = 25500 new.
    assert _column(usd, "starting_mrr_amount_cents") == [0, 25500, 28600, 22400, 25500]
    assert _column(usd, "new_mrr_amount_cents") == [25500, 0, 0, 0, 0]
    assert _column(usd, "expansion_mrr_amount_cents") == [0, 3100, 0, 0, 0]
    assert _column(usd, "contraction_mrr_amount_cents") == [0, 0, 3100, 0, 0]
    assert _column(usd, "churned_mrr_amount_cents") == [0, 0, 3100, 0, 0]
    assert _column(usd, "reactivation_mrr_amount_cents") == [0, 0, 0, 3100, 0]
    assert _column(usd, "net_new_mrr_amount_cents") == [25500, 3100, -6200, 3100, 0]
    assert _column(usd, "ending_mrr_amount_cents") == [25500, 28600, 22400, 25500, 25500]
    assert _column(usd, "new_customers") == [5, 0, 0, 0, 0]
    eur = moved["EUR"]
    assert _column(eur, "churned_mrr_amount_cents") == [0, 0, 0, 2000, 0]
    assert _column(eur, "reactivation_mrr_amount_cents") == [0, 0, 0, 0, 2000]

    churn = await story.figure("churn")
    usd = churn["USD"]
    assert _column(usd, "customers_at_start") == [0, 5, 5, 4, 5]
    assert _column(usd, "logo_churn_rate") == [None, "0.0000", "0.2000", "0.0000", "0.0000"]
    # Apr: nobody left, cus_c came back: (0 - 1) / 4.
    assert _column(usd, "net_logo_churn_rate") == [None, "0.0000", "0.2000", "-0.2500", "0.0000"]
    # Mar: (churn 3100 + contraction 3100) / 28600 = 0.21678.
    assert _column(usd, "gross_revenue_churn_rate") == [
        None,
        "0.0000",
        "0.2168",
        "0.0000",
        "0.0000",
    ]
    # Feb: -3100 / 25500 = -0.12157; Apr: -3100 / 22400 = -0.13839.
    assert _column(usd, "net_revenue_churn_rate") == [
        None,
        "-0.1216",
        "0.2168",
        "-0.1384",
        "0.0000",
    ]
    eur = churn["EUR"]
    # Apr: cus_e's pause is a churn of one customer in two.
    assert _column(eur, "logo_churn_rate") == [None, "0.0000", "0.0000", "0.5000", "0.0000"]
    assert _column(eur, "gross_revenue_churn_rate") == [
        None,
        "0.0000",
        "0.0000",
        "0.4000",
        "0.0000",
    ]

    retention = (await story.figure("retention"))["USD"]
    # Feb: (25500 + 3100) / 25500 = 1.12157; Mar: 22400 / 28600 = 0.78322; Apr: the
    # reactivation is not retention, so 22400 / 22400.
    assert _column(retention, "net_revenue_retention") == [
        None,
        "1.1216",
        "0.7832",
        "1.0000",
        "1.0000",
    ]
    assert _column(retention, "gross_revenue_retention") == [
        None,
        "1.0000",
        "0.7832",
        "1.0000",
        "1.0000",
    ]

    arpa = (await story.figure("arpa"))["USD"]
    assert _column(arpa, "arpa_amount_cents") == [5100, 5720, 5600, 5100, 5100]
    # Mar: ARPA 5600 / (6200 / 28600) = 25832.26; no churn in the other months.
    assert _column(arpa, "ltv_amount_cents") == [None, None, 25832, None, None]

    trials = (await story.figure("trials"))["USD"]
    assert _column(trials, "started") == [1, 1, 0, 0, 0]
    assert _column(trials, "converted") == [1, 0, 0, 0, 0]
    assert _column(trials, "conversion_rate") == ["1.0000", "0.0000", None, None, None]
    assert _column(trials, "conversions") == [1, 0, 0, 0, 0]
    async with sessions() as session:
        trial_rows = list(
            await session.execute(
                select(
                    SubscriptionTrial.external_subscription_id,
                    SubscriptionTrial.started_at,
                    SubscriptionTrial.ended_at,
                    SubscriptionTrial.converted_at,
                ).order_by(SubscriptionTrial.started_at)
            )
        )
        assert [tuple(r) for r in trial_rows] == [
            ("sub_d", _at(1, 10), _at(1, 24), _at(1, 24)),
            ("sub_g", _at(2, 1), _at(2, 5), None),
        ]
        assert await current_mrr_by_currency(session, org) == {"EUR": 5000, "USD": 25500}
        assert await subscription_counts(session, org) == {
            "active": 7,  # a, b, c2, d, e (resumed), f, h
            "trialing": 0,
            "paused": 0,
        }
        assert await customer_counts(session, org) == {
            "customers": 8,
            "paying_customers": {"EUR": 2, "USD": 5},
        }

    # One currency alone, zero-filled before anything happened.
    only = await story.figure(
        "mrr/movements", "currency=EUR&from_date=2025-11-15&to_date=2026-01-31"
    )
    assert list(only) == ["EUR"]
    assert [m["new_mrr_amount_cents"] for m in only["EUR"]] == [0, 0, 5000]

    # Another organization sees nothing of these.
    for path in ("mrr", "mrr/movements", "churn", "retention", "arpa", "trials"):
        response = await temporal_client.get(
            f"/api/v1/dashboard/{path}?{RANGE}", headers=tenant_b.headers
        )
        assert response.status_code == 200, response.text
        assert list(response.json().values()) == [[]]


async def test_one_customers_trials_converting_together(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Two subscriptions of one customer end their trials at the same instant; one clock
    advance runs both workflows in parallel. The customer's first MRR is `new`, the other
    an `expansion`, whichever commits first."""
    story = Story(temporal_client, tenant_a)
    await story.setup()
    await story.subscribe("cus_a", "trial", "sub_1")
    await story.subscribe("cus_a", "trial", "sub_2")
    async with sessions() as session:
        counts = await subscription_counts(session, tenant_a.organization_id)
        assert (counts["active"], counts["trialing"]) == (0, 2)
    await story.advance("2026-01-20T00:00:00Z")  # both trials end Jan 15
    async with sessions() as session:
        movements = list(
            await session.execute(
                select(
                    MrrMovement.occurred_at,
                    MrrMovement.kind,
                    MrrMovement.customer_mrr_after_cents,
                    MrrMovement.trial_conversion,
                ).order_by(MrrMovement.customer_mrr_after_cents)
            )
        )
    assert [tuple(m) for m in movements] == [
        (_at(1, 15), "new", 3100, True),
        (_at(1, 15), "expansion", 6200, True),
    ]
    moved = (await story.figure("mrr/movements", "from_date=2026-01-01&to_date=2026-01-31"))["USD"]
    assert (moved[0]["new_mrr_amount_cents"], moved[0]["expansion_mrr_amount_cents"]) == (
        3100,
        3100,
    )
    assert moved[0]["new_customers"] == 1
    trials = (await story.figure("trials", "from_date=2026-01-01&to_date=2026-01-31"))["USD"]
    assert (trials[0]["started"], trials[0]["converted"], trials[0]["conversion_rate"]) == (
        2,
        2,
        "1.0000",
    )
