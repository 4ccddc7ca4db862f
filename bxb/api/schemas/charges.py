"""Charges of a plan request as they will be saved, and Lago's rules on them.

Charge errors are keyed by their path in the request (``charges.0.properties.amount``,
``charges.1.filters.0.values.region``) rather than Lago's flat ``properties``, so that a
caller knows which charge, filter and field to fix.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bxb.api.schemas.plans import ChargeFilterIn, ChargeIn
from bxb.billing.charge_properties import ChargePropertiesError
from bxb.billing.charges import charge_from_properties
from bxb.billing.filters import filter_errors
from bxb.models import BillableMetric, Charge

# Lago keeps only the properties of the charge's model (ChargeModels::FilterProperties).
MODEL_PROPERTY_KEYS: dict[str, tuple[str, ...]] = {
    "standard": ("amount", "grouped_by", "pricing_group_keys"),
    "graduated": ("graduated_ranges",),
    "volume": ("volume_ranges",),
    "package": ("amount", "free_units", "package_size"),
    "percentage": (
        "rate",
        "fixed_amount",
        "free_units_per_events",
        "free_units_per_total_aggregation",
        "per_transaction_min_amount",
        "per_transaction_max_amount",
    ),
    "graduated_percentage": ("graduated_percentage_ranges",),
}


def _open_range(price_key: str) -> list[dict[str, Any]]:
    return [{"from_value": 0, "to_value": None, price_key: "0", "flat_amount": "0"}]


# Lago's default properties, used when a charge is created with none (e.g. a charge
# priced only through its filters).
DEFAULT_PROPERTIES: dict[str, dict[str, Any]] = {
    "standard": {"amount": "0"},
    "graduated": {"graduated_ranges": _open_range("per_unit_amount")},
    "volume": {"volume_ranges": _open_range("per_unit_amount")},
    "package": {"package_size": 1, "amount": "0", "free_units": 0},
    "percentage": {"rate": "0"},
    "graduated_percentage": {"graduated_percentage_ranges": _open_range("rate")},
}


_RANGE_KEYS = frozenset({"from_value", "to_value", "per_unit_amount", "rate", "flat_amount"})


_GROUP_KEYS = ("grouped_by", "pricing_group_keys")


def _clean(key: str, value: Any) -> Any:
    """Tiers keep only their own keys, so nothing unvalidated is stored with them."""
    if key.endswith("_ranges") and isinstance(value, list):
        return [
            {k: v for k, v in item.items() if k in _RANGE_KEYS} if isinstance(item, dict) else item
            for item in value
        ]
    return value


def model_properties(charge_model: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    keys = MODEL_PROPERTY_KEYS[charge_model]
    return {key: _clean(key, value) for key, value in properties.items() if key in keys}


# Lago: only these aggregations can be billed as each event arrives.
PAYABLE_IN_ADVANCE = frozenset({"count_agg", "sum_agg", "unique_count_agg"})


# A rate applies to an amount: bxb requires the metric to sum amounts (as Lago's UI does).
RATE_MODELS = frozenset({"percentage", "graduated_percentage"})


_CHARGE_DEFAULTS: dict[str, Any] = {
    "code": None,
    "pay_in_advance": False,
    "invoiceable": True,
    "regroup_paid_fees": None,
    "prorated": False,
    "min_amount_cents": 0,
    "invoice_display_name": None,
}


@dataclass
class ChargeDraft:
    """A charge of the payload merged with the charge it updates (if any)."""

    metric: BillableMetric
    existing: Charge | None
    charge_model: str | None
    properties: dict[str, Any]
    filters: list[ChargeFilterIn]
    tax_codes: list[str] | None  # None: keep the charge's taxes
    fields: dict[str, Any]  # code, pay_in_advance, invoiceable, ...


def draft_charge(payload: ChargeIn, existing: Charge | None, metric: BillableMetric) -> ChargeDraft:
    given = payload.model_fields_set
    fields: dict[str, Any] = {}
    for name, default in _CHARGE_DEFAULTS.items():
        value = getattr(payload, name)
        if name in given:  # null only passes validation where it is allowed
            fields[name] = value
        else:
            fields[name] = getattr(existing, name) if existing is not None else default
    model = payload.charge_model or (existing.charge_model if existing is not None else None)
    properties: dict[str, Any] = {}
    if model is not None:
        if payload.properties:
            properties = model_properties(model, payload.properties)
        elif payload.properties is None and existing is not None and existing.charge_model == model:
            properties = existing.properties
        else:
            properties = copy.deepcopy(DEFAULT_PROPERTIES[model])
    if payload.filters is not None:
        filters = payload.filters
    elif existing is not None:
        filters = [
            ChargeFilterIn(
                invoice_display_name=f.invoice_display_name,
                properties=f.properties,
                values=f.values,
            )
            for f in existing.filters
        ]
    else:
        filters = []
    return ChargeDraft(metric, existing, model, properties, filters, payload.tax_codes, fields)


def _properties_errors(
    model: str, properties: Mapping[str, Any], prefix: str, errors: dict[str, list[str]]
) -> None:
    for key in _GROUP_KEYS:
        keys = properties.get(key)
        if keys is not None and not (
            isinstance(keys, list) and all(isinstance(k, str) for k in keys)
        ):
            errors.setdefault(f"{prefix}.{key}", []).append("value_is_invalid")
    try:
        charge_from_properties(model, properties)
    except ChargePropertiesError as exc:
        for field, codes in exc.errors.items():
            errors.setdefault(f"{prefix}.{field}", []).extend(codes)


def _can_prorate(draft: ChargeDraft) -> bool:
    """Lago: proration needs a recurring metric (weighted sums prorate by themselves)."""
    metric = draft.metric
    if metric.aggregation_type == "weighted_sum_agg" or not metric.recurring:
        return False
    if draft.fields["pay_in_advance"]:
        return draft.charge_model == "standard"
    return draft.charge_model in ("standard", "volume", "graduated")


def charge_errors(draft: ChargeDraft) -> dict[str, list[str]]:
    """Field (relative to the charge) → Lago error codes; empty when the charge is valid."""
    errors: dict[str, list[str]] = {}
    model = draft.charge_model
    if model is None:
        return {"charge_model": ["value_is_mandatory"]}

    def add(field: str, code: str) -> None:
        errors.setdefault(field, []).append(code)

    _properties_errors(model, draft.properties, "properties", errors)
    aggregation = draft.metric.aggregation_type
    advance, invoiceable = draft.fields["pay_in_advance"], draft.fields["invoiceable"]
    if model in RATE_MODELS and aggregation != "sum_agg":
        add("charge_model", "invalid_aggregation_type_or_charge_model")
    if advance and (model == "volume" or aggregation not in PAYABLE_IN_ADVANCE):
        add("pay_in_advance", "invalid_aggregation_type_or_charge_model")
    if draft.fields["regroup_paid_fees"] is not None and not (advance and not invoiceable):
        add("regroup_paid_fees", "only_compatible_with_pay_in_advance_and_non_invoiceable")
    if advance and draft.fields["min_amount_cents"] > 0:
        add("min_amount_cents", "not_compatible_with_pay_in_advance")
    if not invoiceable and not advance:
        add("invoiceable", "must_be_true_unless_pay_in_advance")
    if draft.fields["prorated"] and not _can_prorate(draft):
        add("prorated", "invalid_billable_metric_or_charge_model")

    declared = {f.key: list(f.values) for f in draft.metric.filters}
    seen: list[dict[str, list[str]]] = []
    for index, charge_filter in enumerate(draft.filters):
        prefix = f"filters.{index}"
        for key, codes in filter_errors(charge_filter.values, declared).items():
            field = f"{prefix}.values" if key == "values" else f"{prefix}.values.{key}"
            for code in codes:
                add(field, code)
        canonical = {key: sorted(values) for key, values in charge_filter.values.items()}
        if canonical in seen:
            add(f"{prefix}.values", "value_already_exist")
        seen.append(canonical)
        filter_properties = model_properties(model, charge_filter.properties)
        _properties_errors(model, filter_properties, f"{prefix}.properties", errors)
    return errors


def draft_charges(
    payloads: Sequence[ChargeIn], existing: Sequence[Charge], metrics: dict[str, BillableMetric]
) -> tuple[list[ChargeDraft], dict[str, list[str]]]:
    """Drafts of the payload's charges (matched to existing ones by id), and their errors
    keyed by path (``charges.0.properties.amount``)."""
    by_id = {str(charge.id): charge for charge in existing}
    drafts: list[ChargeDraft] = []
    errors: dict[str, list[str]] = {}
    codes: set[str] = set()
    for index, payload in enumerate(payloads):
        current = by_id.pop(payload.id, None) if payload.id else None
        if payload.billable_metric_id is not None:
            metric = metrics[str(uuid.UUID(payload.billable_metric_id))]
        elif current is not None:
            metric = current.billable_metric
        else:
            errors[f"charges.{index}.billable_metric_id"] = ["value_is_mandatory"]
            continue
        draft = draft_charge(payload, current, metric)
        found = charge_errors(draft)
        code = draft.fields["code"]
        if code is not None:
            if code in codes:
                found.setdefault("code", []).append("value_already_exist")
            codes.add(code)
        errors |= {f"charges.{index}.{field}": list(c) for field, c in found.items()}
        drafts.append(draft)
    return drafts, errors
