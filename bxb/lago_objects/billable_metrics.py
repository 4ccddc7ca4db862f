"""Lago's BillableMetricObject."""

from __future__ import annotations

from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import BillableMetric


def billable_metric_object(metric: BillableMetric) -> dict[str, Any]:
    return {
        "lago_id": str(metric.id),
        "name": metric.name,
        "code": metric.code,
        "description": metric.description,
        "aggregation_type": metric.aggregation_type,
        "weighted_interval": metric.weighted_interval,
        "recurring": metric.recurring,
        "rounding_function": metric.rounding_function,
        "rounding_precision": metric.rounding_precision,
        "created_at": iso(metric.created_at),
        "field_name": metric.field_name,
        "expression": metric.expression,
        "filters": [{"key": f.key, "values": list(f.values)} for f in metric.filters],
    }
