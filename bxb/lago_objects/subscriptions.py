"""Lago's SubscriptionObject, from the Postgres mirror of a subscription's workflow.

bxb's pause and resume (Lago has none) show as `status: "paused"`, an extra value of
Lago's status enum, and three extra fields: `paused_at` (the current pause's start),
`resume_at` (when the workflow resumes it) and `scheduled_pause_at` (a pause asked for
at the end of the period). Lago's clients read status as a string and ignore fields they
do not know.
"""

from __future__ import annotations

from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import Subscription


def subscription_object(row: Subscription) -> dict[str, Any]:
    return {
        "lago_id": str(row.id),
        "external_id": row.external_id,
        "lago_customer_id": str(row.customer_id),
        "external_customer_id": row.external_customer_id,
        "billing_time": row.billing_time,
        "name": row.name,
        "plan_code": row.plan_code,
        "plan_amount_cents": row.plan_amount_cents,
        "plan_amount_currency": row.plan_amount_currency,
        "status": row.status,
        "created_at": iso(row.created_at),
        "canceled_at": iso(row.canceled_at),
        "started_at": iso(row.started_at),
        "ending_at": iso(row.ending_at),
        "subscription_at": iso(row.subscription_at),
        "terminated_at": iso(row.terminated_at),
        "previous_plan_code": row.previous_plan_code,
        "next_plan_code": row.next_plan_code,
        # Lago shows the date of a scheduled downgrade, not the instant.
        "downgrade_plan_date": (
            row.downgrade_plan_date.date().isoformat() if row.downgrade_plan_date else None
        ),
        "trial_ended_at": iso(row.trial_ended_at),
        "current_billing_period_started_at": iso(row.current_billing_period_started_at),
        "current_billing_period_ending_at": iso(row.current_billing_period_ending_at),
        "on_termination_credit_note": None,
        "on_termination_invoice": "generate",
        "paused_at": iso(row.paused_at),
        "resume_at": iso(row.resume_at),
        "scheduled_pause_at": iso(row.scheduled_pause_at),
    }
