"""A subscription's ``plan_overrides``: Lago's child plan made for that subscription.

As Lago (Plans::OverrideService): the plan is copied (same code, ``parent_id`` set) with
the overridden amount, currency, trial, names, taxes and minimum commitment; every charge
and fixed charge is copied too (``parent_id`` set), with its overridden properties,
minimum amount, display name, filters, units and taxes. The subscription's workflow pins
the copy. Unlike Lago's copies, the parent's taxes are carried over when the override
names none (Lago's copies lose them), so an override never silently drops a tax.
"""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.errors import validation_error
from bxb.api.fixed_charge_writes import copy_fixed_charge
from bxb.api.schemas.billable_metrics import Name, Text
from bxb.api.schemas.charges import charge_errors, draft_charge, model_properties
from bxb.api.schemas.fixed_charges import Units
from bxb.api.schemas.plans import (
    ChargeFilterIn,
    ChargeIn,
    DisplayName,
    MinimumCommitmentIn,
    PlanFields,
    TaxCode,
    Unsupported,
    apply_commitment,
)
from bxb.api.taxes import replace_applied_taxes, taxes_for_codes
from bxb.billing.charge_properties import ChargePropertiesError
from bxb.billing.charges import charge_from_properties
from bxb.inputs.bounds import Cents
from bxb.inputs.validation import Currency
from bxb.lago_objects.taxes import applied_taxes
from bxb.models import AppliedTax, Charge, ChargeFilter, Organization, Plan, Tax
from bxb.models.base import utcnow

_Id = Annotated[str, Field(max_length=64)]


class ChargeOverrideIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: _Id
    invoice_display_name: DisplayName | None = None
    min_amount_cents: Cents | None = None
    properties: dict[str, Any] | None = None
    filters: list[ChargeFilterIn] | None = None
    tax_codes: list[TaxCode] | None = None


class FixedChargeOverrideIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: _Id
    invoice_display_name: DisplayName | None = None
    units: Units | None = None
    apply_units_immediately: bool | None = None
    properties: dict[str, Any] | None = None
    tax_codes: list[TaxCode] | None = None


class PlanOverridesIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    amount_cents: Cents | None = None
    amount_currency: Currency | None = None
    name: Name | None = None
    description: Text | None = None
    invoice_display_name: DisplayName | None = None
    trial_period: Decimal | None = Field(default=None, ge=0, le=999_999, allow_inf_nan=False)
    tax_codes: list[TaxCode] | None = None
    minimum_commitment: MinimumCommitmentIn | None = None
    charges: list[ChargeOverrideIn] | None = None
    fixed_charges: list[FixedChargeOverrideIn] | None = None
    # Thresholds are not stored on plans yet: refused rather than silently dropped.
    usage_thresholds: Unsupported = None


_PREFIX = "plan_overrides"


def override_currency(plan: Plan, overrides: PlanOverridesIn | None) -> str:
    """The currency a subscription with these overrides is billed in."""
    if overrides is not None and overrides.amount_currency is not None:
        return overrides.amount_currency
    return plan.amount_currency


def _check_ids(plan: Plan, overrides: PlanOverridesIn) -> dict[str, list[str]]:
    """Lago's ids name the plan's own charges; an unknown id is a 422, not ignored."""
    errors: dict[str, list[str]] = {}
    charge_ids = {str(c.id) for c in plan.charges}
    for index, item in enumerate(overrides.charges or ()):
        if item.id not in charge_ids:
            errors[f"{_PREFIX}.charges.{index}.id"] = ["charge_not_found"]
    fixed_ids = {str(f.id) for f in plan.fixed_charges}
    for index, fixed in enumerate(overrides.fixed_charges or ()):
        if fixed.id not in fixed_ids:
            errors[f"{_PREFIX}.fixed_charges.{index}.id"] = ["fixed_charge_not_found"]
    return errors


async def _taxes(session: AsyncSession, org: Organization, data: PlanOverridesIn) -> dict[str, Tax]:
    lists = [data.tax_codes, *(c.tax_codes for c in data.charges or ())]
    lists += [f.tax_codes for f in data.fixed_charges or ()]
    if data.minimum_commitment is not None:
        lists.append(data.minimum_commitment.tax_codes)
    codes = sorted({code for codes in lists if codes for code in codes})
    return {tax.code: tax for tax in await taxes_for_codes(session, org.id, codes)}


def _child_plan(plan: Plan, data: PlanOverridesIn) -> Plan:
    given = data.model_fields_set
    child = Plan(
        id=uuid.uuid4(),
        organization_id=plan.organization_id,
        parent_id=plan.id,
        code=plan.code,
        name=plan.name,
        invoice_display_name=plan.invoice_display_name,
        description=plan.description,
        interval=plan.interval,
        amount_cents=plan.amount_cents,
        amount_currency=plan.amount_currency,
        trial_period=plan.trial_period,
        pay_in_advance=plan.pay_in_advance,
        bill_charges_monthly=plan.bill_charges_monthly,
        minimum_commitment_amount_cents=plan.minimum_commitment_amount_cents,
        minimum_commitment_invoice_display_name=plan.minimum_commitment_invoice_display_name,
        minimum_commitment_tax_ids=list(plan.minimum_commitment_tax_ids),
    )
    for name in (
        "amount_cents",
        "amount_currency",
        "name",
        "description",
        "invoice_display_name",
        "trial_period",
    ):
        value = getattr(data, name)
        if name in given and (value is not None or name in ("description", "trial_period")):
            setattr(child, name, value)
    return child


def _charge_copy(
    parent: Charge,
    child_plan: Plan,
    item: ChargeOverrideIn | None,
    errors: dict[str, list[str]],
    index: int | None,
) -> tuple[Charge, list[ChargeFilter]]:
    payload = ChargeIn()
    if item is not None:
        payload = ChargeIn.model_validate(
            item.model_dump(
                exclude_unset=True,
                include={"invoice_display_name", "min_amount_cents", "properties", "filters"},
            )
        )
    draft = draft_charge(payload, parent, parent.billable_metric)
    if index is not None:
        for field, codes in charge_errors(draft).items():
            errors[f"{_PREFIX}.charges.{index}.{field}"] = codes
    assert draft.charge_model is not None
    charge = Charge(
        id=uuid.uuid4(),
        organization_id=parent.organization_id,
        plan_id=child_plan.id,
        billable_metric_id=parent.billable_metric_id,
        charge_model=draft.charge_model,
        properties=copy.deepcopy(draft.properties),
        parent_id=parent.id,
        **draft.fields,
    )
    charge.created_at = parent.created_at
    filters = [
        ChargeFilter(
            id=uuid.uuid4(),
            charge_id=charge.id,
            invoice_display_name=f.invoice_display_name,
            properties=model_properties(draft.charge_model, f.properties),
            values=f.values,
        )
        for f in draft.filters
    ]
    return charge, filters


async def create_override_plan(
    session: AsyncSession, org: Organization, plan: Plan, data: PlanOverridesIn
) -> Plan:
    """Write the child plan (uncommitted); 404 and 422 before any write."""
    errors = _check_ids(plan, data)
    if errors:
        raise validation_error(errors)
    taxes = await _taxes(session, org, data)
    child = _child_plan(plan, data)
    if data.minimum_commitment is not None:
        fields = PlanFields(minimum_commitment=data.minimum_commitment)
        commitment_errors: dict[str, list[str]] = {}
        apply_commitment(child, fields, taxes, commitment_errors)
        errors |= {f"{_PREFIX}.{k}": v for k, v in commitment_errors.items()}
    overrides = {c.id: (index, c) for index, c in enumerate(data.charges or ())}
    charges: list[tuple[Charge, list[ChargeFilter], ChargeOverrideIn | None, Charge]] = []
    with session.no_autoflush:
        for parent in plan.charges:
            index, item = overrides.get(str(parent.id), (None, None))
            charge, filters = _charge_copy(parent, child, item, errors, index)
            charges.append((charge, filters, item, parent))
    fixed_overrides = {f.id: (index, f) for index, f in enumerate(data.fixed_charges or ())}
    fixed_copies = []
    for parent_fixed in plan.fixed_charges:
        fixed = copy_fixed_charge(parent_fixed, child)
        index, fixed_item = fixed_overrides.get(str(parent_fixed.id), (None, None))
        if fixed_item is not None:
            given = fixed_item.model_fields_set
            if "invoice_display_name" in given:
                fixed.invoice_display_name = fixed_item.invoice_display_name
            if fixed_item.units is not None:
                fixed.units = fixed_item.units
            if fixed_item.properties:
                fixed.properties = model_properties(fixed.charge_model, fixed_item.properties)
                try:
                    charge_from_properties(fixed.charge_model, fixed.properties)
                except ChargePropertiesError as exc:
                    for field, codes in exc.errors.items():
                        key = f"{_PREFIX}.fixed_charges.{index}.properties.{field}"
                        errors[key] = codes
            if fixed_item.tax_codes is not None:
                fixed.tax_ids = [str(taxes[c].id) for c in dict.fromkeys(fixed_item.tax_codes)]
        fixed_copies.append(fixed)
    if errors:
        raise validation_error(errors)
    child.created_at = utcnow()
    session.add(child)
    await session.flush()
    plan_taxes = [taxes[c] for c in dict.fromkeys(data.tax_codes)] if data.tax_codes else None
    if plan_taxes is None:
        plan_taxes = (await applied_taxes(session, AppliedTax.plan_id, [plan.id]))[plan.id]
    await replace_applied_taxes(session, org.id, AppliedTax.plan_id, child.id, plan_taxes)
    parent_charge_taxes = await applied_taxes(
        session, AppliedTax.charge_id, [parent.id for *_, parent in charges]
    )
    for charge, filters, item, parent in charges:
        session.add(charge)
        await session.flush()
        for position, charge_filter in enumerate(filters):
            charge_filter.created_at = charge.created_at.replace(microsecond=position)
            session.add(charge_filter)
        if item is not None and item.tax_codes is not None:
            chosen = [taxes[c] for c in dict.fromkeys(item.tax_codes)]
        else:
            chosen = parent_charge_taxes[parent.id]
        await replace_applied_taxes(session, org.id, AppliedTax.charge_id, charge.id, chosen)
    for fixed in fixed_copies:
        session.add(fixed)
    await session.flush()
    return child
