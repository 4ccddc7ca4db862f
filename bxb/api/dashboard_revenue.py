"""/api/v1/dashboard revenue figures (a bxb extension): revenue by month, by day, by plan,
top customers, and the overdue balance with its aging.

Every figure is per currency, never summed across currencies: `currency` picks one,
otherwise there is one entry per currency the organization has billed in. Series have
every bucket, zero-filled. Windows: `from_date` and `to_date` (ISO dates; the month
figures take the months that hold them), with defaults and bounds per route. The figures
are computed in bxb.analytics (docs/analytics.md, "Revenue").
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.analytics import revenue, revenue_customers
from bxb.analytics.revenue_periods import add_months, utc_today
from bxb.api.analytics_params import (
    CurrencyParam,
    DateParam,
    day_window,
    month_window,
    parse_currency,
    parse_date,
)
from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import validation_error
from bxb.api.schemas.dashboard_top_customers import TopCustomersOut
from bxb.lago_objects import analytics as objects

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])

MAX_LIMIT = 100


async def _currencies(
    session: AsyncSession, organization_id: uuid.UUID, currency: str | None
) -> list[str]:
    chosen = parse_currency(currency)
    return [chosen] if chosen else await revenue.currencies(session, organization_id)


@router.get("/revenue")
async def monthly_revenue(
    org: OrgDep,
    session: SessionDep,
    currency: CurrencyParam = None,
    from_date: DateParam = None,
    to_date: DateParam = None,
) -> dict[str, Any]:
    """Revenue by month: recurring, usage, one-off, gross, credit notes, net."""
    first, last = month_window(from_date, to_date)
    entries = []
    for code in await _currencies(session, org.id, currency):
        points = await revenue.revenue_by_month(session, org.id, code, first, last)
        entries.append(
            {
                "currency": code,
                "months": [objects.revenue_point_object(p, monthly=True) for p in points],
            }
        )
    return {"revenue": entries}


@router.get("/revenue/daily")
async def daily_revenue(
    org: OrgDep,
    session: SessionDep,
    currency: CurrencyParam = None,
    from_date: DateParam = None,
    to_date: DateParam = None,
) -> dict[str, Any]:
    """Revenue by day (at most 366 days; by default the last 30)."""
    first, last = day_window(from_date, to_date)
    entries = []
    for code in await _currencies(session, org.id, currency):
        points = await revenue.revenue_by_day(session, org.id, code, first, last)
        entries.append(
            {
                "currency": code,
                "days": [objects.revenue_point_object(p, monthly=False) for p in points],
            }
        )
    return {"daily_revenue": entries}


@router.get("/revenue/by_plan")
async def revenue_by_plan(
    org: OrgDep,
    session: SessionDep,
    currency: CurrencyParam = None,
    from_date: DateParam = None,
    to_date: DateParam = None,
) -> dict[str, Any]:
    """Recurring and usage revenue of each plan over the months, largest first."""
    first, last = month_window(from_date, to_date)
    last_day = add_months(last, 1) - timedelta(days=1)
    entries = []
    for code in await _currencies(session, org.id, currency):
        plans = await revenue.revenue_by_plan(session, org.id, code, first, last_day)
        entries.append({"currency": code, "plans": [objects.plan_revenue_object(p) for p in plans]})
    return {"revenue_by_plan": entries}


PeriodParam = Annotated[
    str | None,
    Query(
        max_length=16,
        description=(
            "Calendar period: `month`, `quarter`, `year` or `all_time`, the one holding "
            "`date` (default today, UTC). Not with `from_date`/`to_date`. Without it and "
            "without dates: the current month."
        ),
    ),
]
AnchorParam = Annotated[
    str | None,
    Query(
        max_length=32,
        description="ISO date, YYYY-MM-DD: the day whose `period` is asked (default today).",
    ),
]


def top_customers_window(
    period: str | None, anchor: str | None, from_date: str | None, to_date: str | None
) -> revenue_customers.Period | tuple[date, date]:
    """A calendar period (`period` anchored by `date`; by default the current month), or
    the months holding from_date..to_date."""
    if from_date or to_date:
        for field, value in (("period", period), ("date", anchor)):
            if value:
                raise validation_error({field: ["not_with_from_date_or_to_date"]})
        return month_window(from_date, to_date, default_months=1)
    granularity = period or "month"
    if granularity not in revenue_customers.PERIODS:
        raise validation_error({"period": ["value_is_invalid"]})
    on = parse_date("date", anchor) or utc_today()
    return revenue_customers.calendar_period(granularity, on)


@router.get(
    "/top_customers",
    response_model=TopCustomersOut,
    summary="Top customers by revenue per currency, over a calendar period or months",
    description=(
        "Customers with the most revenue (fees before taxes, after coupons, less credit "
        "notes), largest first, per currency. The window is a calendar `period` "
        "(`month`, `quarter`, `year`, `all_time`) holding `date` (default today, UTC), "
        "or whole months from `from_date` to `to_date`; without any of them, the current "
        "month. Calendar periods (and date ranges that are exactly one) read a per-period "
        "rollup ordered by amount; other ranges sum the customers' months. Bad or mixed "
        "filters get Lago's 422."
    ),
)
async def top_customers(
    org: OrgDep,
    session: SessionDep,
    currency: CurrencyParam = None,
    period: PeriodParam = None,
    date: AnchorParam = None,
    from_date: DateParam = None,
    to_date: DateParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
) -> dict[str, Any]:
    """Customers with the most revenue (net of credit notes) over a calendar period or
    over months; by default this month."""
    window = top_customers_window(period, date, from_date, to_date)
    entries = []
    for code in await _currencies(session, org.id, currency):
        if isinstance(window, revenue_customers.Period):
            rows = await revenue_customers.top_customers_of_period(
                session, org.id, code, window, limit
            )
        else:
            rows = await revenue_customers.top_customers(session, org.id, code, *window, limit)
        entries.append(
            {"currency": code, "customers": [objects.customer_revenue_object(r) for r in rows]}
        )
    return {"top_customers": entries}


@router.get("/overdue")
async def overdue(
    org: OrgDep,
    session: SessionDep,
    currency: CurrencyParam = None,
    as_of: DateParam = None,
) -> dict[str, Any]:
    """Unpaid finalized invoices past their due date: balance, count, aging buckets."""
    on = parse_date("as_of", as_of) or utc_today()
    entries = [
        objects.overdue_object(await revenue_customers.overdue(session, org.id, code, on))
        for code in await _currencies(session, org.id, currency)
    ]
    return {"overdue": entries}
