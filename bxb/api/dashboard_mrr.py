"""/api/v1/dashboard/mrr... (a bxb extension): MRR, movements, churn, retention, ARPA and
LTV, trial conversion, per currency and month.

    GET /dashboard/mrr              current MRR and ARR per currency, and a monthly series
    GET /dashboard/mrr/movements    new, expansion, contraction, churned, reactivation, net
    GET /dashboard/churn            logo and revenue churn rates, gross and net
    GET /dashboard/retention        net (and gross) revenue retention
    GET /dashboard/arpa             ARPA and LTV
    GET /dashboard/trials           trials started, converted, conversion rate

Query: `currency` (one currency; else one entry per currency the organization has),
`from_date` and `to_date` (ISO dates or YYYY-MM; their months are the first and last; by
default the 12 months ending this month; at most 120 months). Buckets are Lago's: `month`
is the first day of the month at 00:00 UTC; every month of the range is present. Money in
integer cents, rates as decimal strings (null when the month starts with nothing).
The figures are bxb.analytics functions; definitions in docs/analytics.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from bxb.analytics.movements import MonthMovements, monthly_movements
from bxb.analytics.movements_figures import arpa, churn, movements, mrr_series, retention
from bxb.analytics.mrr import current_mrr_by_currency
from bxb.analytics.mrr_months import month_range
from bxb.analytics.mrr_trials import trial_conversion
from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import validation_error
from bxb.api.schemas.dashboard_mrr import (
    ArpaOut,
    ChurnOut,
    MovementsOut,
    MrrOut,
    RetentionOut,
    TrialsOut,
)
from bxb.billing.money import is_known_currency

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])

CurrencyQuery = Annotated[
    str | None, Query(description="One currency (ISO 4217); default: every currency")
]
FromQuery = Annotated[
    str | None,
    Query(description="ISO date or YYYY-MM: the first month (default: 11 months before to)"),
]
ToQuery = Annotated[
    str | None, Query(description="ISO date or YYYY-MM: the last month (default: this month)")
]
# Dates outside these years are refused (the month after the last must exist).
FIRST_YEAR, LAST_YEAR = 1970, 9998


def _date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        # A date (its month), or a month alone: 2026-03-15, 2026-03.
        day = date.fromisoformat(value[:10] if len(value) != 7 else f"{value}-01")
    except ValueError:
        raise validation_error({name: ["invalid_date"]}) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise validation_error({name: ["invalid_date"]})
    return day


def _query(
    currency: str | None, from_date: str | None, to_date: str | None
) -> tuple[str | None, datetime, datetime]:
    if currency is not None and not is_known_currency(currency):
        raise validation_error({"currency": ["value_is_invalid"]})
    first_day, last_day = _date("from_date", from_date), _date("to_date", to_date)
    try:
        first, last = month_range(first_day, last_day, datetime.now(UTC).date())
    except ValueError:
        raise validation_error({"from_date": ["value_is_invalid"]}) from None
    return currency, first, last


async def _per_currency(
    session: SessionDep,
    org: OrgDep,
    currency: str | None,
    from_date: str | None,
    to_date: str | None,
    figure: Callable[[list[MonthMovements]], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    cur, first, last = _query(currency, from_date, to_date)
    series = await monthly_movements(session, org.id, first, last, cur)
    return [{"currency": c, "months": figure(months)} for c, months in series.items()]


@router.get(
    "/mrr", response_model=MrrOut, summary="MRR and ARR per currency, now and at each month's end"
)
async def get_mrr(
    session: SessionDep,
    org: OrgDep,
    currency: CurrencyQuery = None,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> dict[str, Any]:
    entries = await _per_currency(session, org, currency, from_date, to_date, mrr_series)
    now = await current_mrr_by_currency(session, org.id)
    for entry in entries:
        mrr = now.get(entry["currency"], 0)
        entry.update(mrr_amount_cents=mrr, arr_amount_cents=mrr * 12)
    return {"mrr": entries}


@router.get(
    "/mrr/movements", response_model=MovementsOut, summary="MRR movements per currency and month"
)
async def get_mrr_movements(
    session: SessionDep,
    org: OrgDep,
    currency: CurrencyQuery = None,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> dict[str, Any]:
    entries = await _per_currency(session, org, currency, from_date, to_date, movements)
    return {"mrr_movements": entries}


@router.get(
    "/churn", response_model=ChurnOut, summary="Logo and revenue churn rates per currency and month"
)
async def get_churn(
    session: SessionDep,
    org: OrgDep,
    currency: CurrencyQuery = None,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> dict[str, Any]:
    return {"churn": await _per_currency(session, org, currency, from_date, to_date, churn)}


@router.get(
    "/retention",
    response_model=RetentionOut,
    summary="Net revenue retention per currency and month",
)
async def get_retention(
    session: SessionDep,
    org: OrgDep,
    currency: CurrencyQuery = None,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> dict[str, Any]:
    entries = await _per_currency(session, org, currency, from_date, to_date, retention)
    return {"retention": entries}


@router.get("/arpa", response_model=ArpaOut, summary="ARPA and LTV per currency and month")
async def get_arpa(
    session: SessionDep,
    org: OrgDep,
    currency: CurrencyQuery = None,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> dict[str, Any]:
    return {"arpa": await _per_currency(session, org, currency, from_date, to_date, arpa)}


@router.get("/trials", response_model=TrialsOut, summary="Trial conversion per currency and month")
async def get_trials(
    session: SessionDep,
    org: OrgDep,
    currency: CurrencyQuery = None,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> dict[str, Any]:
    cur, first, last = _query(currency, from_date, to_date)
    series = await trial_conversion(session, org.id, first, last, cur)
    return {"trials": [{"currency": c, "months": m} for c, m in series.items()]}
