"""POST /api/v1/billable_metrics/evaluate_expression (Lago's evaluateBillableMetricExpression).

Evaluates an expression on a sample event and answers its value, as a metric with this
expression would compute it at ingestion. Stores nothing (a read in the role matrix).
Lago's answers: a blank expression is ``expression: value_is_mandatory``, one outside the
grammar ``expression: invalid_expression``, one that cannot be evaluated on the event
(a missing property, arithmetic on text) ``event: invalid_event``. The value is a decimal
string as Lago's server renders its BigDecimal ("2.0"), or the text ``concat`` made.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bxb.api.deps import OrganizationIdDep
from bxb.api.errors import validation_error
from bxb.billing.expressions import (
    ExpressionEvaluationError,
    ExpressionEvent,
    InvalidExpressionError,
    parse_expression,
    value_text,
)
from bxb.inputs.bounds import MAX_BIGINT, FreeText
from bxb.models.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["billable_metrics"])


Seconds = Annotated[int, Field(ge=-MAX_BIGINT, le=MAX_BIGINT)]
DecimalSeconds = Annotated[
    Decimal, Field(ge=-MAX_BIGINT, le=MAX_BIGINT, max_digits=30, decimal_places=9)
]
SecondsText = Annotated[str, StringConstraints(max_length=40)]


class ExpressionEventIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: Annotated[str, StringConstraints(max_length=255)] | None = None
    # Unix seconds, as an integer, a decimal or a string of either (Lago reads all three).
    timestamp: Seconds | DecimalSeconds | SecondsText | None = None
    properties: dict[str, Any] | None = None


class EvaluateExpressionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    expression: FreeText | None = None
    event: ExpressionEventIn | None = None


def _seconds(value: int | Decimal | str | None) -> int | None:
    """Unix seconds as Lago reads them (Ruby's to_i: truncated); None when unreadable."""
    if value is None or value == "":
        return int(utcnow().timestamp())
    try:
        seconds = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return int(seconds) if seconds.is_finite() else None


@router.post("/billable_metrics/evaluate_expression")
async def evaluate_billable_metric_expression(
    organization_id: OrganizationIdDep, body: EvaluateExpressionBody | None = None
) -> dict[str, Any]:
    del organization_id  # authenticates; the answer depends on no organization
    # Optional: lago-python-client 1.x posts this route without its body.
    body = body or EvaluateExpressionBody()
    if not body.expression or not body.expression.strip():
        raise validation_error({"expression": ["value_is_mandatory"]})
    try:
        expression = parse_expression(body.expression)
    except InvalidExpressionError:
        raise validation_error({"expression": ["invalid_expression"]}) from None
    event = body.event or ExpressionEventIn()
    timestamp = _seconds(event.timestamp)
    if timestamp is None:
        raise validation_error({"event": ["invalid_event"]})
    try:
        value = expression.evaluate(
            ExpressionEvent(event.code or "", timestamp, event.properties or {})
        )
    except ExpressionEvaluationError:
        raise validation_error({"event": ["invalid_event"]}) from None
    return {"expression_result": {"value": value_text(value)}}
