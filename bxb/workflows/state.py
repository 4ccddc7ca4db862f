"""The subscription workflow's state and messages (pydantic, carried across continue-as-new).

Everything here is plain data: the workflow holds it, activities receive parts of it, and
the API reads the query result. A subscription pins a snapshot of its plan (with charges)
when it starts or changes plan, so editing a plan never silently changes running
subscriptions.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import (
    BaseModel,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from bxb.billing.aggregation import AggregationType
from bxb.billing.filters import ChargeFilter
from bxb.billing.taxes import Tax
from bxb.billing.usage import UsageCharge


class Compact(BaseModel):
    """A model whose JSON leaves out the optional fields at their defaults (None, False,
    empty lists): what workflow histories show of activity inputs is what matters.
    Decoding gives the defaults back, so the model reads the same."""

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if info.mode != "json" or not isinstance(data, dict):
            return data
        for name, default in _optional_defaults(type(self)):
            if name in data and getattr(self, name) == default:
                del data[name]
        return data


_DEFAULTS: dict[type[BaseModel], tuple[tuple[str, Any], ...]] = {}


def _optional_defaults(model: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    """(name, default) of each optional field, computed once per model: pydantic's
    `get_default` inspects a factory's signature on every call, which cost the worker
    about an eighth of its time serializing states and activity inputs. The defaults are
    only compared with, never handed out."""
    known = _DEFAULTS.get(model)
    if known is None:
        known = tuple(
            (name, field.get_default(call_default_factory=True))
            for name, field in model.model_fields.items()
            if not field.is_required()
        )
        _DEFAULTS[model] = known
    return known


class Status(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    TERMINATED = "terminated"
    CANCELED = "canceled"


class BillableMetricSnapshot(Compact):
    id: UUID
    code: str
    name: str
    aggregation_type: str
    field_name: str | None = None
    recurring: bool = False
    # Lago's rounding of the aggregated units (round/ceil/floor to a precision).
    rounding_function: str | None = None
    rounding_precision: int | None = None


class ChargeFilterSnapshot(Compact):
    id: UUID
    invoice_display_name: str | None = None
    properties: dict[str, Any]
    values: dict[str, list[str]]


class ChargeSnapshot(Compact):
    id: UUID
    billable_metric: BillableMetricSnapshot
    charge_model: str
    properties: dict[str, Any]
    filters: list[ChargeFilterSnapshot] = Field(default_factory=list)
    invoice_display_name: str | None = None
    pay_in_advance: bool = False
    invoiceable: bool = True
    min_amount_cents: int = 0
    regroup_paid_fees: str | None = None  # "invoice": paid non-invoiceable fees, at period end

    def usage_charge(self, taxes: tuple[Tax, ...] = ()) -> UsageCharge:
        """The charge as the pure usage computation reads it."""
        metric = self.billable_metric
        return UsageCharge(
            charge_id=str(self.id),
            billable_metric_id=str(metric.id),
            billable_metric_code=metric.code,
            billable_metric_name=metric.name,
            aggregation_type=AggregationType(metric.aggregation_type),
            field_name=metric.field_name,
            rounding_function=metric.rounding_function,
            rounding_precision=metric.rounding_precision,
            charge_model=self.charge_model,
            properties=self.properties,
            filters=tuple(
                ChargeFilter.from_payload(
                    {
                        "values": f.values,
                        "properties": f.properties,
                        "invoice_display_name": f.invoice_display_name,
                    }
                )
                for f in self.filters
            ),
            invoice_display_name=self.invoice_display_name,
            taxes=taxes,
        )


class FixedChargeSnapshot(Compact):
    """A fixed charge as the subscription pinned it (Lago: units of an add-on per period)."""

    id: UUID
    code: str
    add_on_id: UUID
    add_on_code: str
    add_on_name: str
    invoice_display_name: str | None = None
    charge_model: str
    properties: dict[str, Any]
    units: Decimal
    pay_in_advance: bool = False
    prorated: bool = False


class UsageThresholdSnapshot(Compact):
    """A plan's usage threshold (progressive billing), pinned with the plan."""

    id: UUID
    amount_cents: int
    recurring: bool = False
    threshold_display_name: str | None = None


class PlanSnapshot(Compact):
    id: UUID
    code: str
    name: str
    invoice_display_name: str | None = None
    interval: str
    amount_cents: int
    currency: str
    pay_in_advance: bool = False
    trial_period_days: Decimal | None = None
    bill_charges_monthly: bool = False
    charges: list[ChargeSnapshot] = Field(default_factory=list)
    # Defaulted: states and histories from before fixed charges existed decode unchanged.
    fixed_charges: list[FixedChargeSnapshot] = Field(default_factory=list)
    # Progressive billing (issue 10); empty in snapshots pinned before it.
    usage_thresholds: list[UsageThresholdSnapshot] = Field(default_factory=list)
    # The key of this snapshot in PostgreSQL (plan_snapshots), set when the API pinned it
    # there (issue 13); None in snapshots pinned before.
    snapshot_id: UUID | None = None

    def reference(self) -> PlanSnapshot:
        """What an activity's input carries of a stored snapshot: its key and the plan's
        header (code, amount, interval), not its charges; the activity reads the rest
        (bxb.ledger.plan_snapshots.hydrate)."""
        assert self.snapshot_id is not None
        return self.model_copy(update={"charges": [], "fixed_charges": [], "usage_thresholds": []})


class Segment(Compact):
    """One plan's stretch of a subscription (Lago gives each its own lago_id)."""

    lago_id: UUID
    plan: PlanSnapshot
    started_at: datetime
    previous_plan_code: str | None = None


class PendingDowngrade(Compact):
    lago_id: UUID
    plan: PlanSnapshot
    at: datetime


class Collection(Compact):
    """An invoice the workflow still has to finalize or get paid (grace period, dunning)."""

    invoice_id: UUID
    # Its number, once the ledger gave it one (summaries of the history's steps).
    number: str | None = None
    # Set while the invoice is a draft: when the grace period ends.
    finalize_at: datetime | None = None
    # The next payment attempt (None: waiting for the provider or for nothing).
    next_attempt_at: datetime | None = None
    attempts: int = 0
    failures: int = 0
    first_failed_at: datetime | None = None
    # The dunning campaign in force, as of the last attempt.
    retry_days: list[int] = Field(default_factory=list)
    outcome: str = "keep_past_due"


class PaymentNotice(BaseModel):
    """The API's news about an invoice: paid (manually or at the provider), failed, voided."""

    invoice_id: UUID
    status: str  # succeeded | failed | voided


# Why the workflow refused an update (the failure's ApplicationError type):
# the request itself can never succeed (422) ...
REQUEST_REFUSED = "InvalidRequest"
# ... or the subscription cannot take requests now: a transition that is due keeps
# failing and is being retried (503, naming its error) ...
SUBSCRIPTION_STALLED = "SubscriptionStalled"
# ... or the API had stopped waiting before the workflow could start it (503).
REQUEST_EXPIRED = "RequestExpired"


class Command(BaseModel):
    """A request the workflow's loop carries out, one at a time, in order."""

    # How long the API waits for the answer. A command the workflow has not started when
    # this much time has passed since it arrived is dropped: a request the caller was told
    # failed (503) is never applied later.
    answer_within_seconds: float | None = None


class InvoiceCommand(Command):
    invoice_id: UUID
    # retry_payment: the number the ledger gives the next attempt (a collection the
    # workflow forgot, e.g. after dunning gave up, must not reuse attempt numbers).
    next_attempt: int | None = None


class PausedInterval(Compact):
    """A pause of the subscription: not billed from `start` to `end` (None: still paused)."""

    start: datetime
    end: datetime | None = None


class ScheduledPause(Compact):
    """A pause asked for at the end of the current period (`at`), resuming at resume_at."""

    at: datetime
    resume_at: datetime | None = None


class SubscriptionState(Compact):
    organization_id: UUID
    customer_id: UUID
    external_customer_id: str
    external_id: str
    name: str | None = None
    timezone: str
    billing_time: str
    subscription_at: datetime
    ending_at: datetime | None = None
    # The anniversary anchor; stays put across plan changes.
    anchor: datetime
    status: Status = Status.PENDING
    segment: Segment
    downgrade: PendingDowngrade | None = None
    trial_ends_at: datetime | None = None
    trial_ended_at: datetime | None = None
    started_at: datetime | None = None
    terminated_at: datetime | None = None
    canceled_at: datetime | None = None
    # Start of the current (possibly partial) billing period of the current segment.
    period_start: datetime | None = None
    period_end: datetime | None = None
    # Start of the usage not billed yet (charges are billed in arrears up to each close).
    usage_from: datetime | None = None
    # Test clock: when set, "now" is clock_time, moved only by advance_clock.
    test_clock_id: UUID | None = None
    clock_time: datetime | None = None
    invoices_created: int = 0
    # Invoices being finalized or collected (carried across continue-as-new).
    collections: list[Collection] = Field(default_factory=list)
    # Usage reactions (issue 10): the watcher has signalled this subscription (something
    # reacts to its usage, so the reactions also run before each close) ...
    usage_signaled: bool = False
    # ... and the close instant before which they last ran.
    usage_reacted_at: datetime | None = None
    # Patches (workflow.patched ids) this lineage of runs has taken.
    patches: list[str] = Field(default_factory=list)
    # A newer snapshot of the current plan (cascade_updates), taken at the next period.
    plan_refresh: PlanSnapshot | None = None
    # Pause and resume (pausing.py). Pauses that overlap what is not billed yet, the open
    # one (end None) last; a pause scheduled at period end; when the workflow resumes it.
    pauses: list[PausedInterval] = Field(default_factory=list)
    scheduled_pause: ScheduledPause | None = None
    resume_at: datetime | None = None
    # In advance plans: the current period's fee was not billed because the subscription
    # was paused when it was due; it is billed from the resume (prepaid_from) instead.
    advance_deferred: bool = False
    prepaid_from: datetime | None = None
    # False until an activity has recorded the subscription: a start that fails before
    # then leaves nothing behind, so the workflow refuses its create and ends. (True by
    # default for states written before this field existed.)
    recorded: bool = True

    @property
    def paused(self) -> bool:
        """Paused now: the last pause has not ended (the workflow's status stays active)."""
        return bool(self.pauses) and self.pauses[-1].end is None

    @property
    def shown_status(self) -> str:
        """The status the API, webhooks and the Temporal UI show: `paused` while paused."""
        return "paused" if self.status is Status.ACTIVE and self.paused else self.status.value


class CreateRequest(Command):
    """Sent with update-with-start; the same request twice yields the same subscription."""

    plan: PlanSnapshot
    name: str | None = None
    ending_at: datetime | None = None


class ChangePlanRequest(Command):
    plan: PlanSnapshot
    new_lago_id: UUID
    name: str | None = None


class UpdateRequest(Command):
    name: str | None = None
    ending_at: datetime | None = None
    clear_ending_at: bool = False


class RefreshPlanRequest(Command):
    """The plan the subscription is on changed with cascade_updates: its new snapshot,
    taken at the next period. With `replaces`: the subscription's own override of the
    plan it is on (Lago's subscription charge overrides), taken at once."""

    plan: PlanSnapshot
    replaces: UUID | None = None


class TerminateRequest(Command):
    """Terminate now (or cancel a pending subscription)."""


class PauseRequest(Command):
    """Pause now (at None) or at the end of the current period, and resume at resume_at
    (None: only when asked)."""

    at_period_end: bool = False
    resume_at: datetime | None = None


class ResumeRequest(Command):
    """Resume now (resume_at None), or move the resume of the pause to resume_at."""

    resume_at: datetime | None = None


class AdvanceRequest(BaseModel):
    to: datetime


class SubscriptionView(Compact):
    """What a query returns: the state plus the instants the API shows."""

    state: SubscriptionState
    caught_up_to: datetime | None
    last_error: str | None = None
