"""/api/v1/analytics (Lago-compatible): gross_revenue, invoice_collection, invoiced_usage,
mrr, overdue_balance and usage, with Lago's filters, root keys and month buckets.

Thin: the figures are computed in bxb.analytics (see docs/analytics.md, "Revenue").
A filter Lago would not understand is refused with its 422 body, never a 500.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from bxb.analytics import lago_mrr, lago_revenue, lago_usage
from bxb.analytics.revenue_periods import utc_today
from bxb.api.analytics_params import parse_currency, parse_date
from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import validation_error
from bxb.inputs.validation import check_country
from bxb.lago_objects import analytics as objects

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

# A month count past this reaches before any ledger (and past PostgreSQL's dates).
MAX_MONTHS = 1200
# Longest usage window bxb answers (Lago's data service caps it too).
MAX_USAGE_DAYS = 3660

MonthsParam = Annotated[
    str | None,
    Query(
        max_length=12,
        description="Only the last `months` months, the current one included (Lago's filter).",
    ),
]
CurrencyParam = Annotated[
    str | None, Query(max_length=3, description="ISO 4217 code (upper or lower case).")
]
ExternalCustomerParam = Annotated[str | None, Query(max_length=255)]


def parse_months(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_MONTHS:
        raise validation_error({"months": ["value_is_invalid"]})
    return int(value)


@router.get("/gross_revenue")
async def gross_revenue(
    org: OrgDep,
    session: SessionDep,
    currency: CurrencyParam = None,
    external_customer_id: ExternalCustomerParam = None,
    months: MonthsParam = None,
) -> dict[str, Any]:
    """Finalized invoices' totals less refunds, by issuing month (Lago's gross revenue)."""
    rows = await lago_revenue.gross_revenues(
        session,
        org.id,
        parse_currency(currency),
        today=utc_today(),
        months=parse_months(months),
        external_customer_id=external_customer_id or None,
    )
    return {"gross_revenues": [objects.gross_revenue_object(row) for row in rows]}


@router.get("/invoice_collection")
async def invoice_collection(
    org: OrgDep,
    session: SessionDep,
    currency: CurrencyParam = None,
    months: MonthsParam = None,
) -> dict[str, Any]:
    """Finalized invoices by issuing month and payment status."""
    rows = await lago_revenue.invoice_collections(
        session, org.id, parse_currency(currency), today=utc_today(), months=parse_months(months)
    )
    return {"invoice_collections": [objects.invoice_collection_object(row) for row in rows]}


@router.get("/invoiced_usage")
async def invoiced_usage(
    org: OrgDep,
    session: SessionDep,
    currency: CurrencyParam = None,
    months: MonthsParam = None,
) -> dict[str, Any]:
    """Usage fees of finalized invoices by month and billable metric."""
    rows = await lago_revenue.invoiced_usages(
        session, org.id, parse_currency(currency), today=utc_today(), months=parse_months(months)
    )
    return {"invoiced_usages": [objects.invoiced_usage_object(row) for row in rows]}


@router.get("/mrr")
async def mrr(
    org: OrgDep,
    session: SessionDep,
    currency: CurrencyParam = None,
    months: MonthsParam = None,
) -> dict[str, Any]:
    """Lago's MRR: invoiced subscription fees spread over the months they bill."""
    rows = await lago_mrr.mrrs(
        session, org.id, parse_currency(currency), today=utc_today(), months=parse_months(months)
    )
    return {"mrrs": [objects.mrr_object(row) for row in rows]}


@router.get("/overdue_balance")
async def overdue_balance(
    org: OrgDep,
    session: SessionDep,
    currency: CurrencyParam = None,
    external_customer_id: ExternalCustomerParam = None,
    months: MonthsParam = None,
) -> dict[str, Any]:
    """What payment-overdue invoices still owe, by month of their due date."""
    rows = await lago_revenue.overdue_balances(
        session,
        org.id,
        parse_currency(currency),
        today=utc_today(),
        months=parse_months(months),
        external_customer_id=external_customer_id or None,
    )
    return {"overdue_balances": [objects.overdue_balance_object(row) for row in rows]}


def _boolean(field: str, value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise validation_error({field: ["value_is_invalid"]})


def usage_filters(
    time_granularity: str | None,
    from_date: str | None,
    to_date: str | None,
    customer_type: str | None,
    customer_country: str | None,
    is_billable_metric_recurring: str | None,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    granularity = time_granularity or "daily"
    if granularity not in lago_usage.GRANULARITIES:
        errors["time_granularity"] = ["value_is_invalid"]
    if customer_type not in (None, "", "individual", "company"):
        errors["customer_type"] = ["value_is_invalid"]
    country = None
    if customer_country:
        try:
            country = check_country(customer_country)
        except ValueError:
            errors["customer_country"] = ["not_a_valid_country_code"]
    if errors:
        raise validation_error(errors)
    last = parse_date("to_date", to_date) or utc_today()
    first = parse_date("from_date", from_date) or last - timedelta(days=30)
    if first > last:
        raise validation_error({"from_date": ["must_be_before_to_date"]})
    if (last - first).days > MAX_USAGE_DAYS:
        raise validation_error({"from_date": ["period_too_long"]})
    return {
        "time_granularity": granularity,
        "from_date": first,
        "to_date": last,
        "customer_type": customer_type or None,
        "customer_country": country,
        "is_billable_metric_recurring": _boolean(
            "is_billable_metric_recurring", is_billable_metric_recurring
        ),
    }


@router.get("/usage")
async def usage(
    org: OrgDep,
    session: SessionDep,
    time_granularity: Annotated[str | None, Query(max_length=16)] = None,
    currency: CurrencyParam = None,
    from_date: Annotated[str | None, Query(max_length=32)] = None,
    to_date: Annotated[str | None, Query(max_length=32)] = None,
    customer_type: Annotated[str | None, Query(max_length=16)] = None,
    external_customer_id: ExternalCustomerParam = None,
    customer_country: Annotated[str | None, Query(max_length=8)] = None,
    external_subscription_id: Annotated[str | None, Query(max_length=255)] = None,
    is_billable_metric_recurring: Annotated[str | None, Query(max_length=8)] = None,
    plan_code: Annotated[str | None, Query(max_length=255)] = None,
    billable_metric_code: Annotated[str | None, Query(max_length=255)] = None,
) -> dict[str, Any]:
    """Billed usage by billable metric and period (daily unless asked otherwise)."""
    filters = lago_usage.UsageFilters(
        currency=parse_currency(currency),
        external_customer_id=external_customer_id or None,
        external_subscription_id=external_subscription_id or None,
        plan_code=plan_code or None,
        billable_metric_code=billable_metric_code or None,
        **usage_filters(
            time_granularity,
            from_date,
            to_date,
            customer_type,
            customer_country,
            is_billable_metric_recurring,
        ),
    )
    rows = await lago_usage.usages(session, org.id, filters)
    return {"usages": [objects.usage_object(str(org.id), row) for row in rows]}
