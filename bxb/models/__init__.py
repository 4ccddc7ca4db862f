"""SQLAlchemy tables. Every row carries organization_id; one resource per module."""

from bxb.models.add_on import AddOn
from bxb.models.alert import AlertCrossing, AlertThreshold, TriggeredAlert, UsageAlert
from bxb.models.api_key import ApiKey
from bxb.models.audit_log import ActivityLog, ApiLog
from bxb.models.base import Base
from bxb.models.billable_metric import BillableMetric, BillableMetricFilter
from bxb.models.billing_entity import BillingEntity, BillingEntitySequence, BillingEntityTax
from bxb.models.coupon import AppliedCoupon, Coupon, CouponTarget
from bxb.models.coupon_credit import CouponCredit
from bxb.models.credit_note import CreditNote, CreditNoteApplication, CreditNoteItem
from bxb.models.credit_note_refund import CreditNoteRefund
from bxb.models.customer import Customer
from bxb.models.data_export import DataExport, DataExportChunk
from bxb.models.deleted_fee import DeletedFee
from bxb.models.dunning_campaign import DunningCampaign, DunningCampaignThreshold
from bxb.models.entitlement import Entitlement, EntitlementValue
from bxb.models.entitlement_removal import EntitlementRemoval
from bxb.models.event import Event
from bxb.models.event_rollup import EventRollup
from bxb.models.feature import Feature, Privilege
from bxb.models.fixed_charge import FixedCharge
from bxb.models.idempotency_key import IdempotencyKey
from bxb.models.invoice import Fee, Invoice, InvoiceSequence
from bxb.models.late_event_rerating import LateEventRerating
from bxb.models.lifetime_usage import LifetimeUsage
from bxb.models.member import (
    Member,
    MemberInvitation,
    MemberSession,
    PasswordReset,
    SignInThrottle,
)
from bxb.models.mrr_monthly_total import MrrMonthlyTotal
from bxb.models.mrr_movement import MrrMovement
from bxb.models.organization import Organization
from bxb.models.payment import Payment
from bxb.models.payment_method import PaymentMethod
from bxb.models.payment_request import PaymentReceipt, PaymentRequest, payment_request_invoices
from bxb.models.plan import Charge, ChargeFilter, Plan
from bxb.models.plan_snapshot import PlanSnapshotRecord
from bxb.models.portal_secret import PortalSecret
from bxb.models.portal_top_up import PortalTopUp
from bxb.models.rate_limit import RateLimitCounter, RateLimitOverride
from bxb.models.revenue_rollup import (
    RevenueCustomerMonthly,
    RevenueCustomerPeriod,
    RevenueFeeDaily,
    RevenueInvoiceDaily,
    RevenueOutstandingDaily,
)
from bxb.models.subscription import Subscription
from bxb.models.subscription_pause import SubscriptionPause
from bxb.models.subscription_trial import SubscriptionTrial
from bxb.models.tax import AppliedTax, Tax
from bxb.models.test_clock import TestClock
from bxb.models.usage_threshold import AppliedUsageThreshold, UsageThreshold
from bxb.models.wallet import (
    RecurringTransactionRule,
    Wallet,
    WalletTransaction,
    WalletTransactionConsumption,
)
from bxb.models.webhook import Webhook, WebhookAttempt, WebhookEndpoint

__all__ = [
    "ActivityLog",
    "AddOn",
    "AlertCrossing",
    "AlertThreshold",
    "ApiKey",
    "ApiLog",
    "AppliedCoupon",
    "AppliedTax",
    "AppliedUsageThreshold",
    "Base",
    "BillableMetric",
    "BillableMetricFilter",
    "BillingEntity",
    "BillingEntitySequence",
    "BillingEntityTax",
    "Charge",
    "ChargeFilter",
    "Coupon",
    "CouponCredit",
    "CouponTarget",
    "CreditNote",
    "CreditNoteApplication",
    "CreditNoteItem",
    "CreditNoteRefund",
    "Customer",
    "DataExport",
    "DataExportChunk",
    "DeletedFee",
    "DunningCampaign",
    "DunningCampaignThreshold",
    "Entitlement",
    "EntitlementRemoval",
    "EntitlementValue",
    "Event",
    "EventRollup",
    "Feature",
    "Fee",
    "FixedCharge",
    "IdempotencyKey",
    "Invoice",
    "InvoiceSequence",
    "LateEventRerating",
    "LifetimeUsage",
    "Member",
    "MemberInvitation",
    "MemberSession",
    "MrrMonthlyTotal",
    "MrrMovement",
    "Organization",
    "PasswordReset",
    "Payment",
    "PaymentMethod",
    "PaymentReceipt",
    "PaymentRequest",
    "Plan",
    "PlanSnapshotRecord",
    "PortalSecret",
    "PortalTopUp",
    "Privilege",
    "RateLimitCounter",
    "RateLimitOverride",
    "RecurringTransactionRule",
    "RevenueCustomerMonthly",
    "RevenueCustomerPeriod",
    "RevenueFeeDaily",
    "RevenueInvoiceDaily",
    "RevenueOutstandingDaily",
    "SignInThrottle",
    "Subscription",
    "SubscriptionPause",
    "SubscriptionTrial",
    "Tax",
    "TestClock",
    "TriggeredAlert",
    "UsageAlert",
    "UsageThreshold",
    "Wallet",
    "WalletTransaction",
    "WalletTransactionConsumption",
    "Webhook",
    "WebhookAttempt",
    "WebhookEndpoint",
    "payment_request_invoices",
]

# Registers the insert defaults of customers' and invoices' billing entity.
import bxb.models.billing_entity_defaults  # noqa: F401
