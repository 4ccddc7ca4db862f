"""What the event stores cannot hold is refused before an event joins a batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bxb.core.storable import storable
from bxb.events.store import NewEvent
from bxb.events.validation import MetricRule, is_number, metric_errors, parse_event

ORG = uuid.UUID(int=1)
NOW = datetime(2025, 6, 1, tzinfo=UTC)
TS = 1_735_732_800


def payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "transaction_id": "tx-1",
        "external_subscription_id": "sub-1",
        "code": "storage",
        "timestamp": TS,
        "properties": {"gb": 12.5, "region": "eu"},
    }
    return body | overrides


@pytest.mark.parametrize(
    "text",
    ["a\x00b", "\x00", "x\ud800", "\udfff", "é\udc00", "b\ud83dc", "emoji \U0001f600\x00"],
)
def test_nul_and_surrogates_are_not_storable(text: str) -> None:
    assert not storable(text)


@pytest.mark.parametrize("text", ["", "tx-1", "Île-de-France", "\U0001f600", "\x01\t\n", "\uffff"])
def test_every_other_string_is_storable(text: str) -> None:
    assert storable(text)


@pytest.mark.parametrize("bad", ["a\x00b", "x\ud800", "\udc00"])
@pytest.mark.parametrize("field", ["transaction_id", "external_subscription_id", "code"])
def test_identifiers_the_stores_cannot_hold_are_invalid(field: str, bad: str) -> None:
    assert parse_event(payload(**{field: bad}), ORG, NOW) == {field: ["invalid_characters"]}


@pytest.mark.parametrize("bad", ["a\x00b", "x\ud800", "\udc00"])
def test_property_values_the_stores_cannot_hold_are_invalid_under_their_key(bad: str) -> None:
    parsed = parse_event(payload(properties={"gb": 1, "note": bad}), ORG, NOW)
    assert parsed == {"properties.note": ["invalid_characters"]}


@pytest.mark.parametrize("bad", ["a\x00b", "x\ud800", "\udc00"])
def test_property_keys_the_stores_cannot_hold_are_reported_on_properties(bad: str) -> None:
    # The key is not echoed: an answer cannot even encode a lone surrogate.
    parsed = parse_event(payload(properties={bad: "x", "gb": {"nested": 1}}), ORG, NOW)
    assert parsed == {"properties": ["invalid_characters"], "properties.gb": ["invalid_type"]}


def test_storable_unicode_is_kept_as_sent() -> None:
    properties = {"région": "Île-de-France \U0001f600", "tab": "a\tb"}
    parsed = parse_event(payload(transaction_id="tx-é", properties=properties), ORG, NOW)
    assert isinstance(parsed, NewEvent)
    assert (parsed.transaction_id, parsed.properties) == ("tx-é", properties)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("1234.56", Decimal("1234.56")),
        ("0.1234567890123456789", Decimal("0.123456789012346")),  # numeric(40, 15) rounds
        ("1e-100000", Decimal(0)),  # beyond what PostgreSQL's driver can even encode
        ("5e-16", Decimal("0.000000000000001")),
    ],
)
def test_amounts_are_kept_to_the_stores_fifteen_decimals(sent: str, kept: Decimal) -> None:
    parsed = parse_event(payload(precise_total_amount_cents=sent), ORG, NOW)
    assert isinstance(parsed, NewEvent)
    assert parsed.precise_total_amount_cents == kept


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("1e-16383", True),
        (5e-324, True),
        ("1e-16384", False),  # PostgreSQL's numeric cannot hold it: the sum would fail
        ("0." + "0" * 16383 + "1", False),
        ("1e37", True),
        ("1e38", False),
        # Numbers read without Decimal (the common case) agree with it at the bounds.
        (10**38 - 1, True),
        (-(10**38) + 1, True),
        (10**38, False),
        (9.999999999999999e36, True),
        (1e38, False),  # its shortest text is 1e+38, over the bound as the stores read it
        (-1e38, False),
        (True, False),
    ],
)
def test_numbers_are_what_every_store_can_aggregate(value: object, number: bool) -> None:
    assert is_number(value) is number
    event = parse_event(payload(properties={"gb": value}), ORG, NOW)
    assert isinstance(event, NewEvent)
    errors = metric_errors(event, MetricRule("storage", "sum_agg", "gb"))
    assert errors == ({} if number else {"properties.gb": ["value_is_not_valid_number"]})
