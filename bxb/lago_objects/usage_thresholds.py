"""Lago's UsageThresholdObject, AppliedUsageThresholdObject and LifetimeUsageObject."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.progressive import Completion
from bxb.lago_objects.formats import iso
from bxb.models import AppliedUsageThreshold, Invoice, UsageThreshold


def usage_threshold_object(threshold: UsageThreshold) -> dict[str, Any]:
    return {
        "lago_id": str(threshold.id),
        "threshold_display_name": threshold.threshold_display_name,
        "amount_cents": threshold.amount_cents,
        "recurring": threshold.recurring,
        "created_at": iso(threshold.created_at),
        "updated_at": iso(threshold.updated_at),
    }


async def applied_usage_thresholds(
    session: AsyncSession, invoices: Sequence[Invoice]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each progressive billing invoice's applied thresholds (one query per page)."""
    ids = [i.id for i in invoices if i.id is not None and i.invoice_type == "progressive_billing"]
    found: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if not ids:
        return found
    rows = await session.scalars(
        select(AppliedUsageThreshold)
        .where(AppliedUsageThreshold.invoice_id.in_(ids))
        .order_by(AppliedUsageThreshold.passed_threshold_amount_cents)
    )
    for row in rows:
        found.setdefault(row.invoice_id, []).append(
            {
                "lifetime_usage_amount_cents": row.lifetime_usage_amount_cents,
                "created_at": iso(row.created_at),
                "usage_threshold": usage_threshold_object(row.usage_threshold),
            }
        )
    return found


def lifetime_usage_object(
    *,
    lago_id: uuid.UUID,
    lago_subscription_id: uuid.UUID,
    external_subscription_id: str,
    historical_cents: int,
    invoiced_cents: int,
    current_cents: int,
    from_datetime: datetime | None,
    to_datetime: datetime,
    completions: Sequence[Completion] | None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "lago_id": str(lago_id),
        "lago_subscription_id": str(lago_subscription_id),
        "external_subscription_id": external_subscription_id,
        "external_historical_usage_amount_cents": historical_cents,
        "invoiced_usage_amount_cents": invoiced_cents,
        "current_usage_amount_cents": current_cents,
        "from_datetime": iso(from_datetime),
        "to_datetime": iso(to_datetime),
    }
    if completions is not None:  # Lago lists thresholds only for plans that have some
        data["usage_thresholds"] = [
            {
                "amount_cents": line.amount_cents,
                "completion_ratio": line.completion_ratio,
                "reached_at": iso(line.reached_at),
            }
            for line in completions
        ]
    return data


async def progressive_credits(
    session: AsyncSession, invoices: Sequence[Invoice]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Lago's `credits` item of type `invoice`: the progressive billing invoice whose usage
    a later invoice of the period deducted (the latest one finalized before it)."""
    found: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for invoice in invoices:
        if not invoice.progressive_billing_credit_amount_cents or invoice.id is None:
            continue
        windows = {
            (fee.subscription_id, fee.from_datetime)
            for fee in invoice.fees
            if fee.fee_type == "charge" and fee.coupons_amount_cents
        }
        credited = (
            await session.scalar(
                select(Invoice)
                .where(
                    Invoice.organization_id == invoice.organization_id,
                    Invoice.invoice_type == "progressive_billing",
                    Invoice.status == "finalized",
                    Invoice.id != invoice.id,
                    Invoice.created_at <= invoice.created_at,
                    or_(
                        *(
                            and_(Invoice.subscription_id == segment, Invoice.period_start == start)
                            for segment, start in windows
                        )
                    ),
                )
                .order_by(Invoice.finalized_at.desc(), Invoice.created_at.desc())
                .limit(1)
            )
            if windows
            else None
        )
        if credited is None:
            continue
        found[invoice.id] = [
            {
                "lago_id": str(uuid.uuid5(invoice.id, f"progressive:{credited.id}")),
                "amount_cents": invoice.progressive_billing_credit_amount_cents,
                "amount_currency": invoice.currency,
                "before_taxes": True,
                "item": {
                    "lago_item_id": str(credited.id),
                    "type": "invoice",
                    "code": credited.number or "",
                    "name": credited.number or "",
                },
                "invoice": {"lago_id": str(invoice.id), "payment_status": invoice.payment_status},
            }
        ]
    return found
