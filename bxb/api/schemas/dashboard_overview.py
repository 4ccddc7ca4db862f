"""Answer of /api/v1/dashboard/overview (bxb's own), for the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Sparklines(BaseModel):
    months: list[str] = Field(description="First day of each month, 00:00 UTC; the last is now")
    mrr_amount_cents: list[int] = Field(description="MRR at the end of each month (now, last)")
    revenue_amount_cents: list[int] = Field(
        description="Revenue of each month, before taxes, net of credit notes"
    )


class CurrencyFigures(BaseModel):
    currency: str
    mrr_amount_cents: int = Field(description="MRR now")
    arr_amount_cents: int = Field(description="12 x MRR now")
    paying_customers: int = Field(description="Customers with MRR in this currency now")
    revenue_this_month_amount_cents: int = Field(
        description="This month's revenue so far, before taxes, net of credit notes"
    )
    overdue_amount_cents: int = Field(description="What invoices past their due date still owe")
    overdue_invoices_count: int
    sparklines: Sparklines


class SubscriptionCounts(BaseModel):
    active: int = Field(description="Active and past any free trial")
    trialing: int = Field(description="Active, in their free trial")
    paused: int


class OverviewFigures(BaseModel):
    as_of: str = Field(description="The day the figures are for (UTC)")
    customers_count: int = Field(description="Customers not deleted, in every currency")
    subscriptions: SubscriptionCounts
    currencies: list[CurrencyFigures] = Field(description="Never summed across currencies")


class OverviewOut(BaseModel):
    overview: OverviewFigures
