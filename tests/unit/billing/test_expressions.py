"""Billable metric expressions: Lago's grammar and values (lago-expression's own cases)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bxb.billing.aggregation import AggregationType, UsageEvent
from bxb.billing.expressions import (
    ExpressionEvaluationError,
    ExpressionEvent,
    apply_rounding,
    evaluate_expression,
    is_valid_expression,
    value_text,
)
from bxb.billing.usage import UsageCharge, compute_customer_usage

EVENT = ExpressionEvent(
    "storage",
    1_700_000_000,
    {"ended_at": 1_700_009_000, "name": "disk", "gb": "2.5", "ratio": 0.1, "flag": True},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("round((event.properties.ended_at - event.timestamp) / 3600)", Decimal(3)),
        ("(event.properties.ended_at - event.timestamp) / 3600", Decimal("2.5")),
        ("event.properties.gb * 2", Decimal("5.0")),
        ("event.properties.ratio * 3", Decimal("0.3")),
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("10 - 2 - 3", Decimal(5)),
        ("-2 * 3", Decimal(-6)),
        ("2 - -3", Decimal(5)),
        ("round(12.5)", Decimal(13)),
        ("ROUND(12.345, 2)", Decimal("12.35")),
        ("Ceil(12.351, 1)", Decimal("12.4")),
        ("ceil(12.3)", Decimal(13)),
        ("floor(12.351, 1)", Decimal("12.3")),
        ("floor(-1.5)", Decimal(-2)),
        ("round(125, -1)", Decimal(130)),
        ("least(3, event.properties.gb, 7)", Decimal("2.5")),
        ("GREATEST(3, 7)", Decimal(7)),
        ("concat(event.code, '-', event.properties.name)", "storage-disk"),
        ("concat('test', '-', round(123))", "test-123"),
        ("concat(event.properties.flag)", "true"),
        ("event.timestamp", Decimal(1_700_000_000)),
    ],
)
def test_values(text: str, expected: Decimal | str) -> None:
    assert evaluate_expression(text, EVENT) == expected


def test_division_keeps_a_hundred_significant_digits() -> None:
    third = evaluate_expression("1 / 3", EVENT)
    assert isinstance(third, Decimal)
    assert str(third) == "0." + "3" * 100


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1.1.1",
        "1.",
        "gb * 2",  # properties are read through event.properties
        "event.properties",
        "event.properties.1a",
        "event.timestampx",
        "rnd(1)",
        "round()",
        "round(1, 2, 3)",
        "concat()",
        "1 +",
        "1\t+ 2",  # Lago's grammar knows only spaces
        "__import__('os')",
        "(1 + 2",
        "'unterminated",
    ],
)
def test_outside_the_grammar(text: str) -> None:
    assert not is_valid_expression(text)


@pytest.mark.parametrize(
    "text", ["event.properties.missing", "event.properties.name + 1", "1 / 0", "round(1, 0.5)"]
)
def test_cannot_evaluate(text: str) -> None:
    with pytest.raises(ExpressionEvaluationError):
        evaluate_expression(text, EVENT)


def test_value_text_is_lagos_bigdecimal_text() -> None:
    assert value_text(Decimal(13)) == "13.0"
    assert value_text(Decimal("1.3E+2")) == "130.0"
    assert value_text(Decimal("2.50")) == "2.5"
    assert value_text(Decimal("-0.125")) == "-0.125"
    assert value_text("disk") == "disk"


def test_apply_rounding_as_lago() -> None:
    assert apply_rounding(Decimal("2.345"), "round", 2) == Decimal("2.35")
    assert apply_rounding(Decimal("2.5"), "round", None) == Decimal(3)
    assert apply_rounding(Decimal("2.341"), "ceil", 2) == Decimal("2.35")
    assert apply_rounding(Decimal("2.349"), "floor", 2) == Decimal("2.34")
    assert apply_rounding(Decimal(15), "floor", -1) == Decimal(10)
    assert apply_rounding(Decimal("2.345"), None, 2) == Decimal("2.345")


def test_usage_rounds_the_aggregated_units_not_each_event() -> None:
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    events = [
        UsageEvent(datetime(2026, 1, 2, tzinfo=UTC), {"gb": "1.4"}, "a"),
        UsageEvent(datetime(2026, 1, 3, tzinfo=UTC), {"gb": "1.4"}, "b"),
    ]
    charge = UsageCharge(
        charge_id="c",
        billable_metric_id="m",
        billable_metric_code="storage",
        billable_metric_name="Storage",
        aggregation_type=AggregationType.SUM,
        field_name="gb",
        charge_model="standard",
        properties={"amount": "1"},
        rounding_function="ceil",
        rounding_precision=0,
    )
    usage = compute_customer_usage([charge], {"storage": events}, start, end, "EUR")
    # 2.8 GB, ceiled: 3 units × 1 € (per-event ceiling would have given 4).
    (storage,) = usage.charges_usage
    assert (storage.units, storage.amount_cents) == (Decimal(3), 300)


def test_a_subscription_pins_the_metric_rounding() -> None:
    from uuid import uuid4

    from bxb.workflows.state import BillableMetricSnapshot, ChargeSnapshot

    metric = BillableMetricSnapshot(
        id=uuid4(),
        code="storage",
        name="Storage",
        aggregation_type="sum_agg",
        field_name="gb",
        rounding_function="round",
        rounding_precision=1,
    )
    charge = ChargeSnapshot(
        id=uuid4(), billable_metric=metric, charge_model="standard", properties={"amount": "1"}
    ).usage_charge()
    assert (charge.rounding_function, charge.rounding_precision) == ("round", 1)
    # Snapshots recorded before rounding existed still load: no rounding.
    old = BillableMetricSnapshot.model_validate(
        {"id": str(uuid4()), "code": "c", "name": "C", "aggregation_type": "count_agg"}
    )
    assert old.rounding_function is None
