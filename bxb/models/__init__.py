"""SQLAlchemy tables. Every row carries organization_id; one resource per module."""

from bxb.models.add_on import AddOn
from bxb.models.api_key import ApiKey
from bxb.models.base import Base
from bxb.models.billable_metric import BillableMetric, BillableMetricFilter
from bxb.models.coupon import AppliedCoupon, Coupon, CouponTarget
from bxb.models.customer import Customer
from bxb.models.event import Event
from bxb.models.invoice import Fee, Invoice, InvoiceSequence
from bxb.models.organization import Organization
from bxb.models.plan import Charge, ChargeFilter, Plan
from bxb.models.subscription import Subscription
from bxb.models.tax import AppliedTax, Tax
from bxb.models.test_clock import TestClock

__all__ = [
    "AddOn",
    "ApiKey",
    "AppliedCoupon",
    "AppliedTax",
    "Base",
    "BillableMetric",
    "BillableMetricFilter",
    "Charge",
    "ChargeFilter",
    "Coupon",
    "CouponTarget",
    "Customer",
    "Event",
    "Fee",
    "Invoice",
    "InvoiceSequence",
    "Organization",
    "Plan",
    "Subscription",
    "Tax",
    "TestClock",
]
