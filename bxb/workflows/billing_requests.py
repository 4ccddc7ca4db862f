"""What the subscription workflow asks its activities to record (plain data)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from bxb.workflows.state import Compact, FixedChargeSnapshot, PausedInterval, PlanSnapshot


class SubscriptionRow(Compact):
    """One row of the Postgres mirror (one per plan segment, as Lago's lago_id)."""

    lago_id: UUID
    organization_id: UUID
    customer_id: UUID
    external_customer_id: str
    external_id: str
    plan_id: UUID
    plan_code: str
    plan_amount_cents: int
    plan_amount_currency: str
    name: str | None
    status: str
    billing_time: str
    subscription_at: datetime
    started_at: datetime | None = None
    trial_ended_at: datetime | None = None
    ending_at: datetime | None = None
    terminated_at: datetime | None = None
    canceled_at: datetime | None = None
    previous_plan_code: str | None = None
    next_plan_code: str | None = None
    downgrade_plan_date: datetime | None = None
    current_billing_period_started_at: datetime | None = None
    current_billing_period_ending_at: datetime | None = None
    paused_at: datetime | None = None
    resume_at: datetime | None = None
    scheduled_pause_at: datetime | None = None
    workflow_id: str


class BaseFeeLine(Compact):
    """A plan's base fee (or, with credit=True, the unused part of a prepaid one)."""

    segment_id: UUID
    plan: PlanSnapshot
    amount_cents: int
    days: int
    full_days: int
    from_datetime: datetime
    to_datetime: datetime
    credit: bool = False


class UsageWindow(Compact):
    """Charges of a plan over [from_datetime, to_datetime), billed in arrears, except the
    events timestamped inside a pause (`paused`)."""

    segment_id: UUID
    plan: PlanSnapshot
    from_datetime: datetime
    to_datetime: datetime
    paused: list[PausedInterval] = Field(default_factory=list)


class FixedFeeWindow(Compact):
    """Fixed charges of a plan over a window of one of its periods: those paid in advance
    for the period that starts, or those paid in arrears for the one that ends."""

    segment_id: UUID
    plan_id: UUID
    plan_code: str
    charges: list[FixedChargeSnapshot]
    from_datetime: datetime
    to_datetime: datetime
    days: int
    full_days: int
    # Small activity inputs (issue 13): the stored plan snapshot and the ids of its fixed
    # charges billed here, `charges` left empty; the activity reads them from the snapshot.
    plan_snapshot_id: UUID | None = None
    charge_ids: list[UUID] = Field(default_factory=list)


class BillingRequest(Compact):
    """Record a transition: mirror rows and, when there is anything to bill, one invoice.

    The invoice is unique on (subscription segment, period, kind): running this twice
    bills once.
    """

    kind: str
    at: datetime
    organization_id: UUID
    customer_id: UUID
    external_customer_id: str
    external_id: str
    timezone: str
    currency: str
    invoice_segment_id: UUID
    invoice_period_start: datetime
    invoice_period_end: datetime
    base_fees: list[BaseFeeLine] = Field(default_factory=list)
    usage: list[UsageWindow] = Field(default_factory=list)
    fixed_fees: list[FixedFeeWindow] = Field(default_factory=list)
    rows: list[SubscriptionRow] = Field(default_factory=list)


class BillingResult(Compact):
    invoice_id: UUID | None = None
    invoice_number: str | None = None
    total_amount_cents: int = 0
    # draft (finalized by the workflow at finalize_at) or finalized
    invoice_status: str | None = None
    finalize_at: datetime | None = None
    # pending: the workflow collects it; succeeded: nothing is owed (zero, or credits)
    payment_status: str | None = None
    # The customer pays through a provider (else invoices wait for manual payments).
    collectable: bool = True


# The error type of a declined payment: not retried by Temporal, it starts dunning.
PAYMENT_DECLINED = "PaymentDeclined"
# The error type of what no retry can fix (data the ledger cannot hold, dates out of
# range): the activity is not retried, and the workflow fails the command that asked.
INVALID_INPUT = "InvalidInput"


class InvoiceStep(BaseModel):
    """Act on one invoice at `at` (finalize it, or make payment attempt `attempt`)."""

    invoice_id: UUID
    at: datetime
    attempt: int = 0


class InvoiceStanding(BaseModel):
    """Where an invoice stands after a step: what the workflow decides collection on."""

    status: str  # draft | finalized | voided
    payment_status: str  # pending | succeeded | failed
    amount_due_cents: int = 0
    collectable: bool = True
    number: str | None = None


class DunningPolicy(BaseModel):
    """The organization's campaign: retry days after the first failure, then the outcome."""

    retry_days: list[int] = Field(default_factory=lambda: [1, 3, 5, 7])
    outcome: str = "keep_past_due"  # keep_past_due | terminate


class PaymentResult(BaseModel):
    # succeeded | pending (at the provider) | nothing_due | no_provider
    status: str
    policy: DunningPolicy = Field(default_factory=DunningPolicy)
    message: str | None = None
