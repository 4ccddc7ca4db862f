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
from bxb.analytics.revenue_periods import add_months, month_start, utc_today
from bxb.api.analytics import parse_currency, parse_date
from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import validation_error
from bxb.lago_objects import analytics as objects

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])

DEFAULT_MONTHS = 12
MAX_MONTHS = 120
DEFAULT_DAYS = 30
MAX_DAYS = 366
MAX_LIMIT = 100

DateParam = Annotated[str | None, Query(max_length=32, description="ISO date, YYYY-MM-DD.")]
CurrencyParam = Annotated[
    str | None,
    Query(max_length=3, description="ISO 4217; without it, one entry per currency billed."),
]


def month_window(
    from_date: str | None, to_date: str | None, default_months: int = DEFAULT_MONTHS
) -> tuple[date, date]:
    """The months holding from_date and to_date; by default the last `default_months`
    months, this one included."""
    last = month_start(parse_date("to_date", to_date) or utc_today())
    given = parse_date("from_date", from_date)
    first = month_start(given) if given else add_months(last, -(default_months - 1))
    if first > last:
        raise validation_error({"from_date": ["must_be_before_to_date"]})
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        raise validation_error({"from_date": ["period_too_long"]})
    return first, last


def day_window(from_date: str | None, to_date: str | None) -> tuple[date, date]:
    """From from_date to to_date; by default the last 30 days, today included."""
    last = parse_date("to_date", to_date) or utc_today()
    first = parse_date("from_date", from_date) or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise validation_error({"from_date": ["must_be_before_to_date"]})
    if (last - first).days >= MAX_DAYS:
        raise validation_error({"from_date": ["period_too_long"]})
    return first, last


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


@router.get("/top_customers")
async def top_customers(
    org: OrgDep,
    session: SessionDep,
    currency: CurrencyParam = None,
    from_date: DateParam = None,
    to_date: DateParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
) -> dict[str, Any]:
    """Customers with the most revenue (net of credit notes) over the months; by default
    this month."""
    first, last = month_window(from_date, to_date, default_months=1)
    entries = []
    for code in await _currencies(session, org.id, currency):
        rows = await revenue_customers.top_customers(session, org.id, code, first, last, limit)
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
