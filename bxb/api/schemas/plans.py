"""Plan requests, and how they map onto plans (with Lago's rules); their charges are
drafted and checked in schemas.charges."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bxb.api.schemas.billable_metrics import Name, Text
from bxb.api.schemas.taxes import reject_null
from bxb.api.schemas.usage_thresholds import UsageThresholdIn
from bxb.inputs.bounds import Cents, fits
from bxb.inputs.validation import Currency
from bxb.ledger.metadata import Metadata
from bxb.models import BillableMetricFilter, Plan, Tax

DisplayName = Annotated[str, fits(Plan.invoice_display_name)]
# Filter values name values of the metric's filters (each a VARCHAR(255) key's value).
FilterValue = Annotated[str, fits(BillableMetricFilter.key)]
TaxCode = Annotated[str, fits(Tax.code)]
IntervalName = Literal["weekly", "monthly", "quarterly", "semiannual", "yearly"]
ChargeModelName = Literal[
    "standard", "graduated", "volume", "package", "percentage", "graduated_percentage"
]


def _unsupported(value: Any) -> Any:
    """Pricing bxb does not apply yet is refused, never silently dropped."""
    if value:
        raise ValueError("not_supported")
    return value


Unsupported = Annotated[Any, AfterValidator(_unsupported)]


class ChargeFilterIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    invoice_display_name: DisplayName | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    values: dict[FilterValue, list[FilterValue]]


class ChargeIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(max_length=64)] | None = None  # a charge of the plan, to update
    billable_metric_id: Annotated[str, Field(max_length=64)] | None = None
    code: Name | None = None
    charge_model: ChargeModelName | None = None
    pay_in_advance: bool | None = None
    invoiceable: bool | None = None
    regroup_paid_fees: Literal["invoice"] | None = None
    prorated: bool | None = None
    min_amount_cents: Cents | None = None
    invoice_display_name: DisplayName | None = None
    properties: dict[str, Any] | None = None
    filters: list[ChargeFilterIn] | None = None
    tax_codes: list[TaxCode] | None = None
    applied_pricing_unit: Unsupported = None

    _required = field_validator(
        "charge_model",
        "pay_in_advance",
        "invoiceable",
        "prorated",
        "min_amount_cents",
        mode="before",
    )(reject_null)


class MinimumCommitmentIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    amount_cents: Cents | None = None
    invoice_display_name: DisplayName | None = None
    tax_codes: list[TaxCode] | None = None


class PlanFields(BaseModel):
    """Every field optional: the body of a PUT (absent fields keep their value)."""

    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    invoice_display_name: DisplayName | None = None
    code: Name | None = None
    interval: IntervalName | None = None
    description: Text | None = None
    amount_cents: Cents | None = None
    amount_currency: Currency | None = None
    trial_period: Decimal | None = Field(default=None, ge=0, le=999_999, allow_inf_nan=False)
    pay_in_advance: bool | None = None
    bill_charges_monthly: bool | None = None
    tax_codes: list[TaxCode] | None = None
    minimum_commitment: MinimumCommitmentIn | None = None
    charges: list[ChargeIn] | None = None
    # Checked item by item (schemas.fixed_charges) when the plan is saved.
    fixed_charges: list[dict[str, Any]] | None = None
    usage_thresholds: list[UsageThresholdIn] | None = None
    # Lago's key/value plan metadata (replaced as a whole; null removes it).
    metadata: Metadata | None = None

    _required = field_validator(
        "name",
        "code",
        "interval",
        "amount_cents",
        "amount_currency",
        "pay_in_advance",
        mode="before",
    )(reject_null)


class PlanCreate(PlanFields):
    name: Name
    code: Name
    interval: IntervalName
    amount_cents: Cents
    amount_currency: Currency


class PlanCreateBody(BaseModel):
    plan: PlanCreate


class PlanUpdate(PlanFields):
    # Lago's flag: the plan's children (plan_overrides copies) and running subscriptions
    # follow the change (bxb/api/plan_cascade.py).
    cascade_updates: bool | None = None


class PlanUpdateBody(BaseModel):
    plan: PlanUpdate


# --- plan fields -------------------------------------------------------------------------

# Intervals on which charges may be billed monthly (Lago nulls the flag elsewhere).
_MONTHLY_CHARGES_INTERVALS = frozenset({"yearly", "semiannual"})


def apply_commitment(
    plan: Plan, data: PlanFields, taxes: dict[str, Tax], errors: dict[str, list[str]]
) -> None:
    """Set, change or remove (null or {}) the plan's minimum commitment."""
    if "minimum_commitment" not in data.model_fields_set:
        return
    commitment = data.minimum_commitment
    if commitment is None or not commitment.model_fields_set:  # null or {}: remove it
        plan.minimum_commitment_amount_cents = None
        plan.minimum_commitment_invoice_display_name = None
        plan.minimum_commitment_tax_ids = []
        return
    given = commitment.model_fields_set
    if commitment.amount_cents is not None:
        plan.minimum_commitment_amount_cents = commitment.amount_cents
    elif plan.minimum_commitment_amount_cents is None:
        errors["minimum_commitment.amount_cents"] = ["value_is_mandatory"]
    if "invoice_display_name" in given:
        plan.minimum_commitment_invoice_display_name = commitment.invoice_display_name
    if commitment.tax_codes is not None:
        codes = dict.fromkeys(commitment.tax_codes)
        plan.minimum_commitment_tax_ids = [str(taxes[code].id) for code in codes]


def apply_plan_fields(plan: Plan, data: PlanFields) -> None:
    """Copy the given fields onto the plan (validation let no required field be null)."""
    simple = data.model_dump(
        exclude_unset=True,
        include={
            "name",
            "invoice_display_name",
            "code",
            "interval",
            "description",
            "amount_cents",
            "amount_currency",
            "trial_period",
            "pay_in_advance",
        },
    )
    for key, value in simple.items():
        setattr(plan, key, value)
    if "metadata" in data.model_fields_set:
        plan.metadata_ = data.metadata
    requested = data.bill_charges_monthly
    if requested is None:
        requested = plan.bill_charges_monthly
    monthly = plan.interval in _MONTHLY_CHARGES_INTERVALS
    plan.bill_charges_monthly = bool(requested) if monthly else None
