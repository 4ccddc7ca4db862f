"""Billable metric requests.

Also the small string types the catalog schemas share: a code or name is a non-blank
string that fits its VARCHAR(255) column; free text is bounded (bxb.inputs.bounds).
NUL characters are refused for every request at the boundary (bxb.api.input_rules).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bxb.api.schemas.taxes import reject_null
from bxb.billing.expressions import is_valid_expression
from bxb.inputs.bounds import FreeText, fits
from bxb.models import BillableMetric

INT32_MAX = 2**31 - 1


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("value_is_mandatory")
    return value


Text = FreeText
Name = Annotated[str, fits(BillableMetric.name), AfterValidator(_not_blank)]

AggregationTypeName = Literal[
    "count_agg", "sum_agg", "max_agg", "unique_count_agg", "latest_agg", "weighted_sum_agg"
]

# Lago: a level carried over periods makes no sense for these (count restarts, max and
# latest are already levels).
NOT_RECURRING = frozenset({"count_agg", "max_agg", "latest_agg"})


class BillableMetricFilterIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: Name
    values: list[Name] = Field(min_length=1)


class BillableMetricFields(BaseModel):
    """Every field optional: the body of a PUT (absent fields keep their value)."""

    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    code: Name | None = None
    description: Text | None = None
    aggregation_type: AggregationTypeName | None = None
    field_name: Name | None = None
    recurring: bool | None = None
    weighted_interval: Literal["seconds"] | None = None
    rounding_function: Literal["round", "ceil", "floor"] | None = None
    rounding_precision: int | None = Field(default=None, ge=-INT32_MAX, le=INT32_MAX)
    # Lago's expression grammar (bxb.billing.expressions); computed into field_name at
    # ingestion. Checked on the metric as saved (`metric_errors`).
    expression: Text | None = None
    filters: list[BillableMetricFilterIn] | None = None

    _required = field_validator("name", "code", "aggregation_type", "recurring", mode="before")(
        reject_null
    )


class BillableMetricCreate(BillableMetricFields):
    name: Name
    code: Name
    aggregation_type: AggregationTypeName


class BillableMetricCreateBody(BaseModel):
    billable_metric: BillableMetricCreate


class BillableMetricUpdateBody(BaseModel):
    billable_metric: BillableMetricFields


def metric_errors(metric: BillableMetric) -> dict[str, list[str]]:
    """Rules across fields, checked on the metric as it would be saved."""
    errors: dict[str, list[str]] = {}
    if metric.aggregation_type != "count_agg" and not metric.field_name:
        errors["field_name"] = ["value_is_mandatory"]
    if metric.recurring and metric.aggregation_type in NOT_RECURRING:
        errors["recurring"] = ["not_compatible_with_aggregation_type"]
    if metric.expression and not is_valid_expression(metric.expression):
        errors["expression"] = ["invalid_expression"]
    return errors


def filters_errors(filters: list[BillableMetricFilterIn]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, item in enumerate(filters):
        if item.key in seen:
            errors[f"filters.{index}.key"] = ["value_already_exist"]
        seen.add(item.key)
    return errors


def unique_values(values: list[str]) -> list[str]:
    """Filter values without repeats, in the order given."""
    return list(dict.fromkeys(values))
