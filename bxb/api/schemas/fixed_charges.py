"""Fixed charge requests (``/plans/{code}/fixed_charges``) and Lago's rules on them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bxb.api.schemas.billable_metrics import Name
from bxb.api.schemas.charges import DEFAULT_PROPERTIES, model_properties
from bxb.api.schemas.plans import DisplayName, TaxCode
from bxb.api.schemas.taxes import reject_null
from bxb.billing.charge_properties import ChargePropertiesError
from bxb.billing.charges import charge_from_properties
from bxb.models import FixedCharge

FixedChargeModelName = Literal["standard", "graduated", "volume"]
Units = Annotated[Decimal, Field(ge=0, le=10**15, allow_inf_nan=False)]


class FixedChargeFields(BaseModel):
    """Every field optional: the body of a PUT (absent fields keep their value)."""

    model_config = ConfigDict(extra="ignore")

    add_on_id: Annotated[str, Field(max_length=64)] | None = None
    add_on_code: Name | None = None
    code: Name | None = None
    invoice_display_name: DisplayName | None = None
    charge_model: FixedChargeModelName | None = None
    pay_in_advance: bool | None = None
    prorated: bool | None = None
    units: Units | None = None
    properties: dict[str, Any] | None = None
    tax_codes: list[TaxCode] | None = None
    apply_units_immediately: bool | None = None
    cascade_updates: bool | None = None

    _required = field_validator(
        "charge_model", "pay_in_advance", "prorated", "units", mode="before"
    )(reject_null)


class FixedChargeBody(BaseModel):
    fixed_charge: FixedChargeFields


class FixedChargeDeleteFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cascade_updates: bool | None = None


class FixedChargeDeleteBody(BaseModel):
    fixed_charge: FixedChargeDeleteFields = Field(default_factory=FixedChargeDeleteFields)


def apply_fixed_charge_fields(fixed: FixedCharge, data: FixedChargeFields) -> dict[str, list[str]]:
    """Copy the given fields onto the fixed charge; Lago's errors (empty when valid)."""
    given = data.model_fields_set
    for name in ("code", "invoice_display_name", "pay_in_advance", "prorated", "units"):
        if name in given:
            setattr(fixed, name, getattr(data, name))
    model_changed = data.charge_model is not None and data.charge_model != fixed.charge_model
    if data.charge_model is not None:
        fixed.charge_model = data.charge_model
    errors: dict[str, list[str]] = {}
    if fixed.charge_model is None:
        return {"charge_model": ["value_is_mandatory"]}
    if data.properties:
        fixed.properties = model_properties(fixed.charge_model, data.properties)
    elif model_changed or not fixed.properties:
        fixed.properties = dict(DEFAULT_PROPERTIES[fixed.charge_model])
    try:
        charge_from_properties(fixed.charge_model, fixed.properties)
    except ChargePropertiesError as exc:
        for field, codes in exc.errors.items():
            errors.setdefault(f"properties.{field}", []).extend(codes)
    # Lago (FixedCharge validations): volume is never paid in advance, and a graduated
    # fixed charge paid in advance is never prorated.
    if fixed.pay_in_advance and fixed.charge_model == "volume":
        errors.setdefault("pay_in_advance", []).append("invalid_charge_model")
    if fixed.prorated and fixed.pay_in_advance and fixed.charge_model == "graduated":
        errors.setdefault("prorated", []).append("invalid_charge_model")
    return errors
