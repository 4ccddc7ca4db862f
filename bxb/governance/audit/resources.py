"""Which bxb models are audited resources, and the Lago names of what happens to them.

Lago's resource types are its Rails class names (`BillableMetric`, `Invoice`, ...) and its
activity types `<resource>.<verb>` (Clickhouse::ActivityLog::ACTIVITY_TYPES). bxb audits
the same resources under the same names, plus its own (add-ons, taxes, webhook endpoints,
alerts, test clocks, the organization) named the same way.

A model that only exists inside a resource (a plan's charges, a coupon's targets) is a
part: its changes are reported as an update of the resource that owns it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect

from bxb.models import (
    AddOn,
    AlertThreshold,
    ApiKey,
    AppliedCoupon,
    BillableMetric,
    BillableMetricFilter,
    BillingEntity,
    BillingEntityTax,
    Charge,
    ChargeFilter,
    Coupon,
    CouponTarget,
    CreditNote,
    Customer,
    DataExport,
    DunningCampaign,
    DunningCampaignThreshold,
    Entitlement,
    EntitlementRemoval,
    EntitlementValue,
    Feature,
    FixedCharge,
    Invoice,
    Member,
    MemberInvitation,
    Organization,
    Payment,
    PaymentMethod,
    PaymentRequest,
    Plan,
    Privilege,
    Subscription,
    Tax,
    TestClock,
    UsageAlert,
    UsageThreshold,
    Wallet,
    WalletTransaction,
    WebhookEndpoint,
)

# Never in an activity object nor in its changes (key and password hashes, signing keys...).
SECRET_MARKERS = ("hash", "secret", "token", "password", "hmac")
# Bookkeeping columns a change of which is no change a person made.
QUIET = frozenset({"updated_at", "created_at", "lock_version"})


@dataclass(frozen=True)
class Resource:
    type: str  # Lago's resource_type
    prefix: str  # Lago's activity type prefix


RESOURCES: dict[type[Any], Resource] = {
    BillableMetric: Resource("BillableMetric", "billable_metric"),
    Plan: Resource("Plan", "plan"),
    Customer: Resource("Customer", "customer"),
    Invoice: Resource("Invoice", "invoice"),
    CreditNote: Resource("CreditNote", "credit_note"),
    Subscription: Resource("Subscription", "subscription"),
    Wallet: Resource("Wallet", "wallet"),
    WalletTransaction: Resource("WalletTransaction", "wallet_transaction"),
    Coupon: Resource("Coupon", "coupon"),
    AppliedCoupon: Resource("AppliedCoupon", "applied_coupon"),
    Payment: Resource("Payment", "payment"),
    PaymentRequest: Resource("PaymentRequest", "payment_request"),
    Feature: Resource("Entitlement::Feature", "feature"),
    # bxb's own, named as Lago names its classes.
    AddOn: Resource("AddOn", "add_on"),
    Tax: Resource("Tax", "tax"),
    WebhookEndpoint: Resource("WebhookEndpoint", "webhook_endpoint"),
    UsageAlert: Resource("UsageMonitoring::Alert", "alert"),
    TestClock: Resource("TestClock", "test_clock"),
    Organization: Resource("Organization", "organization"),
    BillingEntity: Resource("BillingEntity", "billing_entities"),
    # Governance: who may act, and what was taken out (issue 12).
    ApiKey: Resource("ApiKey", "api_key"),
    Member: Resource("Membership", "membership"),
    MemberInvitation: Resource("Invite", "invite"),
    DataExport: Resource("DataExport", "data_export"),
    DunningCampaign: Resource("DunningCampaign", "dunning_campaign"),
}

# A part's owner: (owner model, the column holding its id), or a function of the part
# returning (owner model, owner id) when the part sits two levels down.
Owner = tuple[type[Any], str]
PARTS: dict[type[Any], Owner | Callable[[Any, Any], tuple[type[Any], uuid.UUID] | None]] = {
    Charge: (Plan, "plan_id"),
    FixedCharge: (Plan, "plan_id"),
    UsageThreshold: (Plan, "plan_id"),
    BillableMetricFilter: (BillableMetric, "billable_metric_id"),
    DunningCampaignThreshold: (DunningCampaign, "dunning_campaign_id"),
    CouponTarget: (Coupon, "coupon_id"),
    Privilege: (Feature, "feature_id"),
    AlertThreshold: (UsageAlert, "alert_id"),
    EntitlementRemoval: (Subscription, "subscription_id"),
    BillingEntityTax: (BillingEntity, "billing_entity_id"),
    PaymentMethod: (Customer, "customer_id"),
}


def _entitlement_owner(part: Any, session: Any) -> tuple[type[Any], uuid.UUID] | None:
    if part.plan_id is not None:
        return Plan, part.plan_id
    if part.subscription_id is not None:
        return Subscription, part.subscription_id
    return None


def _through(model: type[Any], column: str) -> Callable[[Any, Any], Any]:
    """The owner of a part's parent (a charge filter's plan, an entitlement value's plan)."""

    def owner(part: Any, session: Any) -> tuple[type[Any], uuid.UUID] | None:
        parent = session.get(model, getattr(part, column))
        return None if parent is None else owner_of(parent, session)

    return owner


PARTS[Entitlement] = _entitlement_owner
PARTS[ChargeFilter] = _through(Charge, "charge_id")
PARTS[EntitlementValue] = _through(Entitlement, "entitlement_id")


def owner_of(part: Any, session: Any) -> tuple[type[Any], uuid.UUID] | None:
    rule = PARTS.get(type(part))
    if rule is None:
        return None
    if isinstance(rule, tuple):
        model, column = rule
        owner_id = getattr(part, column)
        return None if owner_id is None else (model, owner_id)
    return rule(part, session)


def is_secret(column: str) -> bool:
    return any(marker in column for marker in SECRET_MARKERS)


def plain(value: Any) -> Any:
    """A column value as JSON."""
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The row as Lago shapes objects: `lago_id` for the id, secrets left out."""
    state = inspect(obj)
    row: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if is_secret(key) or key in state.unloaded:
            continue
        row["lago_id" if key == "id" else key] = plain(getattr(obj, key))
    return row


def activity_verb(obj: Any, op: str, changes: dict[str, list[Any]]) -> str:
    """Lago's verb for `op` (created, updated, deleted) on obj, given its changes."""
    status = changes.get("status")
    if isinstance(obj, Subscription):
        if op == "created":
            return "started"
        if status is not None and status[1] in ("terminated", "canceled"):
            return "terminated"
        return "updated"
    if isinstance(obj, Invoice):
        if op == "created":
            return "one_off_created" if obj.invoice_type == "one_off" else "created"
        if status is not None and status[1] == "voided":
            return "voided"
        if status is not None and status[1] == "finalized":
            return "created"  # Lago's invoice.created is the finalized invoice
        if "payment_status" in changes:
            return "payment_status_updated"
        return "updated"
    if isinstance(obj, Payment) and op == "created":
        return "recorded"
    if isinstance(obj, AppliedCoupon) and status is not None and status[1] == "terminated":
        return "deleted"
    if isinstance(obj, Wallet) and op == "deleted":
        return "updated"  # Lago terminates wallets: wallet.updated
    return op
