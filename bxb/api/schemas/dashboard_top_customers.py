"""Answer of /api/v1/dashboard/top_customers (bxb's own), for the OpenAPI document.

One entry per currency; money in integer cents of the entry's currency, before taxes,
after coupons, less credit notes. Definitions: docs/analytics.md, "Revenue".
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class TopCustomer(BaseModel):
    lago_customer_id: str = Field(description="bxb's id of the customer (UUID)")
    external_customer_id: str
    name: str | None
    amount_cents: int = Field(
        description="Net revenue over the window; negative when credit notes exceed it"
    )


class TopCustomersCurrency(BaseModel):
    currency: str
    customers: list[TopCustomer] = Field(
        description="Largest first (ties by customer id), at most `limit`; none at zero"
    )


class TopCustomersOut(BaseModel):
    top_customers: list[TopCustomersCurrency]
