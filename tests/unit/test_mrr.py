"""MRR normalisation, movement kinds and the month buckets of the dashboard figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bxb.analytics.movements import MonthMovements
from bxb.analytics.movements_figures import arpa, churn, retention
from bxb.analytics.mrr_months import month_range, months, rate
from bxb.billing.mrr import monthly_amount_cents, movement_kind


def test_plan_fees_normalised_to_a_month() -> None:
    assert monthly_amount_cents(1000, "monthly") == 1000
    assert monthly_amount_cents(1000, "weekly") == 4333  # 1000 x 52 / 12 = 4333.33
    assert monthly_amount_cents(3, "weekly") == 13  # 13.0
    assert monthly_amount_cents(1000, "quarterly") == 333
    assert monthly_amount_cents(1001, "semiannual") == 167  # 166.83
    assert monthly_amount_cents(120000, "yearly") == 10000
    assert monthly_amount_cents(18, "yearly") == 2  # 1.5 rounds half-up


def test_movement_kinds_are_the_customers() -> None:
    assert movement_kind(0, 100, churned_before=False) == "new"
    assert movement_kind(0, 100, churned_before=True) == "reactivation"
    assert movement_kind(100, 0, churned_before=True) == "churn"
    assert movement_kind(100, 250, churned_before=True) == "expansion"
    assert movement_kind(250, 100, churned_before=True) == "contraction"
    assert movement_kind(100, 100, churned_before=True) is None


def test_month_range_defaults_and_bounds() -> None:
    today = date(2026, 12, 5)
    first, last = month_range(None, None, today)
    assert (first, last) == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert len(months(first, last)) == 12
    first, last = month_range(date(2025, 11, 30), date(2026, 2, 1), today)
    assert [m.month for m in months(first, last)] == [11, 12, 1, 2]
    with pytest.raises(ValueError, match="after"):
        month_range(date(2026, 3, 1), date(2026, 2, 1), today)
    with pytest.raises(ValueError, match="months"):
        month_range(date(2000, 1, 1), date(2026, 2, 1), today)


def test_rates_and_ltv() -> None:
    assert rate(1, 3) == "0.3333"
    assert rate(-1, 8) == "-0.1250"
    assert rate(1, 0) is None
    month = MonthMovements(datetime(2026, 2, 1, tzinfo=UTC), starting_mrr=10000)
    month.customers_at_start = 4
    month.add("churn", 1, -2500)
    month.add("expansion", 1, 1000)
    assert month.ending_mrr == 8500
    assert month.customers_at_end == 3
    (row,) = churn([month])
    assert row["logo_churn_rate"] == "0.2500"
    assert row["gross_revenue_churn_rate"] == "0.2500"
    assert row["net_revenue_churn_rate"] == "0.1500"
    (kept,) = retention([month])
    assert kept["net_revenue_retention"] == "0.8500"
    (value,) = arpa([month])
    # ARPA 8500 / 3 = 2833; LTV = ARPA / 0.25 = 8500 x 10000 / (3 x 2500) = 11333.33
    assert value["arpa_amount_cents"] == 2833
    assert value["ltv_amount_cents"] == 11333
    quiet = MonthMovements(datetime(2026, 3, 1, tzinfo=UTC), starting_mrr=8500)
    quiet.customers_at_start = 3
    assert arpa([quiet])[0]["ltv_amount_cents"] is None  # nothing churned: unbounded
