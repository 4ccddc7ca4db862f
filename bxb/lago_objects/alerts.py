"""Lago's AlertObject and TriggeredAlertObject.

Lago stores alert values as BigDecimal and sends them as its JSON encoding does: strings
with at least one decimal ("800.0", "12.5"); thresholds, previous and current values alike.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bxb.billing.alerts import Crossing
from bxb.lago_objects.billable_metrics import billable_metric_object
from bxb.lago_objects.formats import iso
from bxb.models import BillableMetric, TriggeredAlert, UsageAlert, Wallet


def big_decimal(value: Decimal) -> str:
    """Ruby's BigDecimal#to_s in JSON: 800 → "800.0", 12.50 → "12.5"."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def crossing_object(crossing: Crossing) -> dict[str, Any]:
    return {
        "code": crossing.code,
        "value": big_decimal(crossing.value),
        "recurring": crossing.recurring,
    }


def alert_object(
    alert: UsageAlert, metric: BillableMetric | None, wallet: Wallet | None = None
) -> dict[str, Any]:
    return {
        "lago_id": str(alert.id),
        "lago_organization_id": str(alert.organization_id),
        "subscription_external_id": alert.subscription_external_id,  # deprecated by Lago
        "external_subscription_id": alert.subscription_external_id,
        "lago_wallet_id": str(alert.wallet_id) if alert.wallet_id else None,
        "wallet_code": wallet.code if wallet is not None else None,
        "alert_type": alert.alert_type,
        "code": alert.code,
        "name": alert.name,
        "direction": alert.direction,
        "previous_value": big_decimal(alert.previous_value),
        "last_processed_at": iso(alert.last_processed_at),
        "thresholds": [
            {"code": t.code, "value": big_decimal(t.value), "recurring": t.recurring}
            for t in alert.thresholds
        ],
        "created_at": iso(alert.created_at),
        "billable_metric": billable_metric_object(metric) if metric is not None else None,
    }


def triggered_alert_object(
    row: TriggeredAlert,
    alert: UsageAlert,
    *,
    external_customer_id: str,
    billable_metric_code: str | None,
) -> dict[str, Any]:
    return {
        "lago_id": str(row.id),
        "lago_organization_id": str(row.organization_id),
        "lago_alert_id": str(alert.id),
        "lago_subscription_id": str(row.subscription_id) if row.subscription_id else None,
        "external_subscription_id": alert.subscription_external_id,
        "lago_wallet_id": str(row.wallet_id) if row.wallet_id else None,
        "external_customer_id": external_customer_id,
        "billable_metric_code": billable_metric_code,
        "alert_name": alert.name,
        "alert_code": alert.code,
        "alert_type": alert.alert_type,
        "current_value": big_decimal(row.current_value),
        "previous_value": big_decimal(row.previous_value),
        "crossed_thresholds": list(row.crossed_thresholds),
        "triggered_at": iso(row.triggered_at),
        "subscription_external_id": alert.subscription_external_id,  # deprecated by Lago
        "customer_external_id": external_customer_id,  # deprecated by Lago
    }
