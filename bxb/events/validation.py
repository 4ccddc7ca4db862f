"""Validate Lago event payloads without the database, then against the billable metric.

Two steps, because the second needs the organization's metrics and runs batched inside
the group commit: `parse_event` checks the shape of one ``{"transaction_id", ...}`` object
(pure, per request) and `metric_errors` checks it against its billable metric.

Error codes (keys are field paths inside the event object):

- ``value_is_mandatory``: transaction_id, external_subscription_id or code missing/blank;
- ``invalid_type``: a field or property of the wrong JSON type (properties hold strings,
  numbers, booleans or null; never nested objects or arrays);
- ``value_is_too_long``: a string field over 255 characters;
- ``invalid_format``: a timestamp that is not Unix seconds (integer, decimal, or either as
  a string);
- ``value_is_out_of_range``: a timestamp before 2000-01-01 or more than 24 h ahead of now;
  a negative or too large precise_total_amount_cents;
- ``invalid_characters``: a string the stores cannot hold (see `storable`) in transaction_id,
  external_subscription_id, code or a property value (``properties.<key>``); on
  ``properties`` when a property's key is such a string (the key itself is not echoed);
- ``value_is_not_valid_number``: the metric's field_name value (sum, max, latest,
  weighted_sum) or precise_total_amount_cents is not a number the stores read exactly
  like the pure core (`is_number`);
- ``billable_metric_not_found`` (on ``code``): no live billable metric has this code;
- ``expression_evaluation_failed`` (on ``properties``): the metric computes its field from
  an expression (`bxb.billing.expressions`) that cannot be evaluated on this event (a
  property it reads is missing, arithmetic on text, a division by zero).

When the metric has an expression, the event is stored with the computed value in its
``field_name`` property (Lago's Events::CalculateExpressionService), so both stores and the
pure core aggregate it like any property.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bxb.billing.aggregation import AggregationType
from bxb.billing.expressions import (
    ExpressionEvaluationError,
    ExpressionEvent,
    InvalidExpressionError,
    parse_expression,
    value_text,
)
from bxb.core.storable import storable
from bxb.events.store import NewEvent

Errors = dict[str, list[str]]

MAX_STRING_LENGTH = 255
# The API boundary (bxb.api.input_rules) refuses the same characters with the same code;
# this check holds for what does not come through HTTP (the bulk importer).
INVALID_CHARACTERS = "invalid_characters"
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(hours=24)
# Every store holds these exactly: PostgreSQL numeric(40, 15), ClickHouse Decimal256(20).
MAX_AMOUNT = Decimal(10) ** 25
AMOUNT_SCALE = 15  # decimal places of precise_total_amount_cents in both stores
MAX_PROPERTY_NUMBER = Decimal(10) ** 38
MAX_PROPERTY_NUMBER_INT = 10**38
# PostgreSQL's numeric holds at most 16,383 digits after the point: a property value with
# more cannot be cast when its metric is aggregated.
MIN_PROPERTY_EXPONENT = -16_383

NUMERIC_FIELD_AGGREGATIONS = frozenset(
    {
        AggregationType.SUM.value,
        AggregationType.MAX.value,
        AggregationType.LATEST.value,
        AggregationType.WEIGHTED_SUM.value,
    }
)

# Plain decimal notation both SQL engines parse the same way as Python's Decimal:
# optional sign, digits with an optional point, optional exponent; no spaces, no "_".
_NUMBER_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_TIMESTAMP_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
_MICROSECOND = Decimal("0.000001")
_AMOUNT_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)
# What no store can hold in a string: NUL (PostgreSQL's text and jsonb refuse it) and
# UTF-16 surrogates (a lone one, as JSON's "\ud800" decodes to, has no UTF-8 encoding).


@dataclass(frozen=True, slots=True)
class MetricRule:
    """What ingestion needs to know about a billable metric."""

    code: str
    aggregation_type: str
    field_name: str | None
    expression: str | None = None


def default_event_time(
    organization_id: uuid.UUID, external_subscription_id: str, received_at: datetime
) -> datetime:
    """The timestamp of an event sent without one: "now" as the caller knows it.

    `received_at` is the wall clock, or the test clock's time when the subscription's
    customer is on one (the API looks that up; see bxb.api.events._parse).
    """
    del organization_id, external_subscription_id
    return received_at


def parse_event(
    payload: object, organization_id: uuid.UUID, received_at: datetime
) -> NewEvent | Errors:
    """Check one Lago event object; returns the event to store or field → error codes.

    An event without a timestamp gets `default_event_time`.
    """
    if not isinstance(payload, dict):
        return {"event": ["invalid_type"]}
    errors: Errors = {}
    transaction_id = _identifier(payload, "transaction_id", errors)
    subscription = _identifier(payload, "external_subscription_id", errors)
    code = _identifier(payload, "code", errors)
    timestamp = _timestamp(payload.get("timestamp"), received_at, errors)
    properties = _properties(payload.get("properties"), errors)
    amount = _amount(payload.get("precise_total_amount_cents"), errors)
    if errors:
        return errors
    assert transaction_id is not None
    assert subscription is not None
    assert code is not None
    if timestamp is None:
        timestamp = default_event_time(organization_id, subscription, received_at)
    return NewEvent(
        organization_id, transaction_id, subscription, code, timestamp, properties, amount
    )


def checked_event(event: NewEvent, metric: MetricRule | None) -> NewEvent | Errors:
    """The event as it will be stored (its metric's expression computed), or its errors."""
    if metric is not None and metric.expression and metric.field_name:
        try:
            value = parse_expression(metric.expression).evaluate(
                ExpressionEvent(
                    event.code, (event.timestamp - _EPOCH) // _ONE_SECOND, event.properties
                )
            )
        except (ExpressionEvaluationError, InvalidExpressionError):
            return {"properties": ["expression_evaluation_failed"]}
        event = replace(
            event, properties={**event.properties, metric.field_name: value_text(value)}
        )
    return metric_errors(event, metric) or event


def metric_errors(event: NewEvent, metric: MetricRule | None) -> Errors:
    """Errors of an event against its billable metric (None: no live metric has its code)."""
    if metric is None:
        return {"code": ["billable_metric_not_found"]}
    field = metric.field_name
    if metric.aggregation_type not in NUMERIC_FIELD_AGGREGATIONS or not field:
        return {}
    value = event.properties.get(field)
    if value is None or is_number(value):
        return {}
    return {f"properties.{field}": ["value_is_not_valid_number"]}


def is_number(value: object) -> bool:
    """A JSON number or numeric string every store and the pure core read identically."""
    # The common cases without Decimal: an int, or a float well inside the bounds (a float's
    # exponent never goes below -1074; near 1e38 its shortest text decides, so Decimal).
    if type(value) is int:
        return -MAX_PROPERTY_NUMBER_INT < value < MAX_PROPERTY_NUMBER_INT
    if type(value) is float and -1e37 < value < 1e37:
        return True
    parsed = _decimal(value)
    return (
        parsed is not None
        and abs(parsed) < MAX_PROPERTY_NUMBER
        and _exponent(parsed) >= MIN_PROPERTY_EXPONENT
    )


def _exponent(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0  # finite numbers only reach here


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
            return None
    return None


def _identifier(payload: Mapping[str, Any], field: str, errors: Errors) -> str | None:
    value = payload.get(field)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # Lago accepts numeric ids and stores their text
    if value is None or value == "":
        errors[field] = ["value_is_mandatory"]
    elif not isinstance(value, str):
        errors[field] = ["invalid_type"]
    elif len(value) > MAX_STRING_LENGTH:
        errors[field] = ["value_is_too_long"]
    elif not storable(value):
        errors[field] = [INVALID_CHARACTERS]
    else:
        return value
    return None


def _timestamp(value: object, now: datetime, errors: Errors) -> datetime | None:
    """Unix seconds (int, float, or either as a string) → an instant, to the microsecond."""
    if value is None or value == "":
        return None
    latest = _latest_second(now)
    if type(value) is int:  # the common case, without Decimal
        if _EARLIEST_SECOND <= value <= latest:
            return _EPOCH + timedelta(seconds=value)
        errors["timestamp"] = ["value_is_out_of_range"]
        return None
    seconds: Decimal | None = None
    if isinstance(value, float):
        seconds = _decimal(value)
    elif isinstance(value, str) and _TIMESTAMP_TEXT.fullmatch(value.strip()):
        seconds = Decimal(value.strip())
    if seconds is None:
        errors["timestamp"] = ["invalid_format"]
        return None
    if not _EARLIEST_SECOND <= seconds <= latest + 1:
        errors["timestamp"] = ["value_is_out_of_range"]
        return None
    micros = int(seconds.quantize(_MICROSECOND, rounding=ROUND_HALF_UP) * 1_000_000)
    moment = _EPOCH + timedelta(microseconds=micros)
    if moment > now + MAX_FUTURE:
        errors["timestamp"] = ["value_is_out_of_range"]
        return None
    return moment


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)
_EARLIEST_SECOND = (EARLIEST_TIMESTAMP - _EPOCH) // _ONE_SECOND
# The latest whole second accepted for a "now": the events of a batch share their "now",
# so the last one is kept instead of computed for every event.
_latest: tuple[datetime, int] = (_EPOCH, 0)


def _latest_second(now: datetime) -> int:
    global _latest
    if _latest[0] is not now:
        _latest = (now, (now + MAX_FUTURE - _EPOCH) // _ONE_SECOND)
    return _latest[1]


def _properties(value: object, errors: Errors) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors["properties"] = ["invalid_type"]
        return {}
    for key, item in value.items():
        if not storable(key):
            # Not echoed: a lone surrogate could not even be written in the answer.
            errors["properties"] = [INVALID_CHARACTERS]
        elif isinstance(item, str):
            if not storable(item):
                errors[f"properties.{key}"] = [INVALID_CHARACTERS]
        elif item is None or isinstance(item, bool | int):
            continue
        elif not (isinstance(item, float) and item == item and abs(item) != float("inf")):
            errors[f"properties.{key}"] = ["invalid_type"]
    return value


def _amount(value: object, errors: Errors) -> Decimal | None:
    if value is None or value == "":
        return None
    amount = _decimal(value)
    if amount is None:
        errors["precise_total_amount_cents"] = ["value_is_not_valid_number"]
    elif amount < 0 or amount >= MAX_AMOUNT:
        errors["precise_total_amount_cents"] = ["value_is_out_of_range"]
    elif _exponent(amount) < -AMOUNT_SCALE:
        # Kept as the stores keep it (a tiny exponent would not even reach them).
        return amount.quantize(_AMOUNT_QUANTUM, rounding=ROUND_HALF_UP)
    else:
        return amount
    return None
