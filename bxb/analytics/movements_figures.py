"""The dashboard's MRR figures, per currency and month, from monthly_movements.

Each function takes the months of one currency (movements.MonthMovements) and returns the
entries the API answers with: money in integer cents, rates as decimal strings of four
places (None when the denominator is zero: no MRR or no customers at the month's start).
Definitions: docs/analytics.md, "MRR, churn and retention".
"""

from __future__ import annotations

from typing import Any

from bxb.analytics.movements import MonthMovements
from bxb.analytics.mrr_months import divide_cents, rate


def _month(entry: MonthMovements) -> str:
    return entry.month.isoformat().replace("+00:00", "Z")


def mrr_series(series: list[MonthMovements]) -> list[dict[str, Any]]:
    """MRR and ARR at the end of each month."""
    return [
        {
            "month": _month(m),
            "mrr_amount_cents": m.ending_mrr,
            "arr_amount_cents": m.ending_mrr * 12,
            "paying_customers": m.customers_at_end,
        }
        for m in series
    ]


def movements(series: list[MonthMovements]) -> list[dict[str, Any]]:
    return [
        {
            "month": _month(m),
            "starting_mrr_amount_cents": m.starting_mrr,
            "new_mrr_amount_cents": m.new,
            "expansion_mrr_amount_cents": m.expansion,
            "contraction_mrr_amount_cents": m.contraction,
            "churned_mrr_amount_cents": m.churned,
            "reactivation_mrr_amount_cents": m.reactivation,
            "net_new_mrr_amount_cents": m.net,
            "ending_mrr_amount_cents": m.ending_mrr,
            "new_customers": m.new_customers,
            "churned_customers": m.churned_customers,
            "reactivated_customers": m.reactivated_customers,
        }
        for m in series
    ]


def gross_revenue_churn(m: MonthMovements) -> str | None:
    return rate(m.churned + m.contraction, m.starting_mrr)


def churn(series: list[MonthMovements]) -> list[dict[str, Any]]:
    """Logo churn: customers lost / paying customers at the month's start (net: less
    those who came back). Revenue churn: MRR lost to churn and contraction / starting MRR
    (net: less expansion and reactivation; negative when they outweigh the losses)."""
    return [
        {
            "month": _month(m),
            "customers_at_start": m.customers_at_start,
            "churned_customers": m.churned_customers,
            "reactivated_customers": m.reactivated_customers,
            "logo_churn_rate": rate(m.churned_customers, m.customers_at_start),
            "net_logo_churn_rate": rate(
                m.churned_customers - m.reactivated_customers, m.customers_at_start
            ),
            "starting_mrr_amount_cents": m.starting_mrr,
            "churned_mrr_amount_cents": m.churned,
            "contraction_mrr_amount_cents": m.contraction,
            "expansion_mrr_amount_cents": m.expansion,
            "reactivation_mrr_amount_cents": m.reactivation,
            "gross_revenue_churn_rate": gross_revenue_churn(m),
            "net_revenue_churn_rate": rate(
                m.churned + m.contraction - m.expansion - m.reactivation, m.starting_mrr
            ),
        }
        for m in series
    ]


def retention(series: list[MonthMovements]) -> list[dict[str, Any]]:
    """Net revenue retention of each month: (starting MRR + expansion - contraction -
    churn) / starting MRR. New and reactivated customers' MRR is left out."""
    return [
        {
            "month": _month(m),
            "starting_mrr_amount_cents": m.starting_mrr,
            "expansion_mrr_amount_cents": m.expansion,
            "contraction_mrr_amount_cents": m.contraction,
            "churned_mrr_amount_cents": m.churned,
            "retained_mrr_amount_cents": m.starting_mrr + m.expansion - m.contraction - m.churned,
            "net_revenue_retention": rate(
                m.starting_mrr + m.expansion - m.contraction - m.churned, m.starting_mrr
            ),
            "gross_revenue_retention": rate(
                m.starting_mrr - m.contraction - m.churned, m.starting_mrr
            ),
        }
        for m in series
    ]


def arpa(series: list[MonthMovements]) -> list[dict[str, Any]]:
    """ARPA at the month's end (MRR / paying customers) and LTV = ARPA / the month's gross
    revenue churn rate; LTV is None when nothing churned (unbounded) or nobody pays."""
    entries = []
    for m in series:
        customers = m.customers_at_end
        average = divide_cents(m.ending_mrr, customers) if customers else 0
        lost = m.churned + m.contraction
        ltv = None
        if customers and lost and m.starting_mrr:
            # ARPA / (lost / starting MRR), rounded once.
            ltv = divide_cents(m.ending_mrr * m.starting_mrr, customers * lost)
        entries.append(
            {
                "month": _month(m),
                "mrr_amount_cents": m.ending_mrr,
                "paying_customers": customers,
                "arpa_amount_cents": average,
                "revenue_churn_rate": gross_revenue_churn(m),
                "ltv_amount_cents": ltv,
            }
        )
    return entries
