"""GET /api/v1/dashboard/overview (a bxb extension): the dashboard's first screen.

Customers, subscriptions by state, and per currency MRR and ARR, paying customers, this
month's revenue, the overdue balance, and 12-month sparklines of MRR and revenue. Each
figure is the same as on its own route (/dashboard/mrr, /dashboard/revenue,
/dashboard/overdue); definitions in docs/analytics.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from bxb.analytics.overview import overview
from bxb.api.analytics_params import CurrencyParam, DateParam, parse_currency, parse_date
from bxb.api.deps import OrgDep, SessionDep
from bxb.api.schemas.dashboard_overview import OverviewOut
from bxb.lago_objects.analytics import month_stamp

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])


@router.get("/overview", response_model=OverviewOut, summary="The dashboard's first screen")
async def get_overview(
    org: OrgDep, session: SessionDep, currency: CurrencyParam = None, as_of: DateParam = None
) -> dict[str, Any]:
    """`as_of` (ISO date, default today, UTC) picks the month: MRR is at its end (now, for
    the current month), and the sparklines are the 12 months ending with it."""
    day = parse_date("as_of", as_of) or datetime.now(UTC).date()
    figures = await overview(session, org.id, day, parse_currency(currency))
    return {
        "overview": {
            "as_of": figures.as_of.isoformat(),
            "customers_count": figures.customers,
            "subscriptions": figures.subscriptions,
            "currencies": [
                {
                    "currency": c.currency,
                    "mrr_amount_cents": c.mrr_amount_cents,
                    "arr_amount_cents": c.arr_amount_cents,
                    "paying_customers": c.paying_customers,
                    "revenue_this_month_amount_cents": c.revenue_this_month_amount_cents,
                    "overdue_amount_cents": c.overdue_amount_cents,
                    "overdue_invoices_count": c.overdue_invoices_count,
                    "sparklines": {
                        "months": [month_stamp(m) for m in c.months],
                        "mrr_amount_cents": c.mrr_series,
                        "revenue_amount_cents": c.revenue_series,
                    },
                }
                for c in figures.currencies
            ],
        }
    }
