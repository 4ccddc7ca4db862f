"""Answers of /api/v1/dashboard/mrr... (bxb's own), for the OpenAPI document.

One entry per currency, each with one entry per month of the range (`month`: the first
day of the month, 00:00 UTC). Money in integer cents of the entry's currency; rates are
decimal strings of four places, null when the month starts with nothing to divide by.
Definitions: docs/analytics.md, "MRR, churn and retention".
"""

from __future__ import annotations

from pydantic import BaseModel, Field

Month = Field(description="First day of the month, 00:00 UTC (ISO 8601)")
Rate = Field(description="Decimal string, 4 places; null when the denominator is 0")


class MrrMonth(BaseModel):
    month: str = Month
    mrr_amount_cents: int = Field(description="MRR at the end of the month")
    arr_amount_cents: int = Field(description="12 x MRR at the end of the month")
    paying_customers: int = Field(description="Customers with MRR at the end of the month")


class MrrCurrency(BaseModel):
    currency: str
    mrr_amount_cents: int = Field(description="MRR now")
    arr_amount_cents: int = Field(description="ARR now (12 x MRR)")
    months: list[MrrMonth]


class MrrOut(BaseModel):
    mrr: list[MrrCurrency]


class MovementsMonth(BaseModel):
    month: str = Month
    starting_mrr_amount_cents: int
    new_mrr_amount_cents: int
    expansion_mrr_amount_cents: int
    contraction_mrr_amount_cents: int = Field(description="MRR lost, a positive amount")
    churned_mrr_amount_cents: int = Field(description="MRR lost, a positive amount")
    reactivation_mrr_amount_cents: int
    net_new_mrr_amount_cents: int = Field(
        description="new + expansion + reactivation - contraction - churned"
    )
    ending_mrr_amount_cents: int
    new_customers: int
    churned_customers: int
    reactivated_customers: int


class MovementsCurrency(BaseModel):
    currency: str
    months: list[MovementsMonth]


class MovementsOut(BaseModel):
    mrr_movements: list[MovementsCurrency]


class ChurnMonth(BaseModel):
    month: str = Month
    customers_at_start: int
    churned_customers: int
    reactivated_customers: int
    logo_churn_rate: str | None = Rate
    net_logo_churn_rate: str | None = Rate
    starting_mrr_amount_cents: int
    churned_mrr_amount_cents: int
    contraction_mrr_amount_cents: int
    expansion_mrr_amount_cents: int
    reactivation_mrr_amount_cents: int
    gross_revenue_churn_rate: str | None = Rate
    net_revenue_churn_rate: str | None = Rate


class ChurnCurrency(BaseModel):
    currency: str
    months: list[ChurnMonth]


class ChurnOut(BaseModel):
    churn: list[ChurnCurrency]


class RetentionMonth(BaseModel):
    month: str = Month
    starting_mrr_amount_cents: int
    expansion_mrr_amount_cents: int
    contraction_mrr_amount_cents: int
    churned_mrr_amount_cents: int
    retained_mrr_amount_cents: int
    net_revenue_retention: str | None = Rate
    gross_revenue_retention: str | None = Rate


class RetentionCurrency(BaseModel):
    currency: str
    months: list[RetentionMonth]


class RetentionOut(BaseModel):
    retention: list[RetentionCurrency]


class ArpaMonth(BaseModel):
    month: str = Month
    mrr_amount_cents: int
    paying_customers: int
    arpa_amount_cents: int = Field(description="MRR / paying customers at the month's end")
    revenue_churn_rate: str | None = Rate
    ltv_amount_cents: int | None = Field(
        description="ARPA / revenue churn rate; null when nothing churned (unbounded)"
    )


class ArpaCurrency(BaseModel):
    currency: str
    months: list[ArpaMonth]


class ArpaOut(BaseModel):
    arpa: list[ArpaCurrency]


class TrialsMonth(BaseModel):
    month: str = Month
    started: int = Field(description="Trials started in the month")
    converted: int = Field(description="Of those, how many became paying (so far)")
    conversion_rate: str | None = Rate
    conversions: int = Field(description="Trials (of any month) converted in the month")


class TrialsCurrency(BaseModel):
    currency: str
    months: list[TrialsMonth]


class TrialsOut(BaseModel):
    trials: list[TrialsCurrency]
