"""Charge filters: matching, picking the most specific filter, validation."""

from datetime import UTC, datetime

import pytest

from bxb.billing.aggregation import PropertyValue, UsageEvent
from bxb.billing.filters import (
    ALL_FILTER_VALUES,
    DEFAULT_BUCKET,
    ChargeFilter,
    assign_events_to_filters,
    filter_errors,
    match_filter,
)

AT = datetime(2024, 4, 2, tzinfo=UTC)


def event(tx: str, **props: PropertyValue) -> UsageEvent:
    return UsageEvent(AT, props, tx)


@pytest.mark.parametrize(
    ("props", "values", "matches"),
    [
        ({"region": "eu"}, {"region": ["eu", "us"]}, True),
        ({"region": "asia"}, {"region": ["eu", "us"]}, False),
        ({}, {"region": ["eu"]}, False),  # key missing
        ({"region": None}, {"region": ["eu"]}, False),  # null is missing
        ({"region": "eu", "cloud": "aws"}, {"region": ["eu"], "cloud": ["aws"]}, True),
        ({"region": "eu", "cloud": "gcp"}, {"region": ["eu"], "cloud": ["aws"]}, False),
        ({"region": "eu"}, {"region": ["eu"], "cloud": ["aws"]}, False),  # every key needed
        ({"region": "anything"}, {"region": [ALL_FILTER_VALUES]}, True),  # wildcard
        ({}, {"region": [ALL_FILTER_VALUES]}, False),  # wildcard still needs the key
        ({"cpus": 4}, {"cpus": ["4"]}, True),  # compared as text
        ({"region": "eu"}, {}, True),  # no condition
    ],
)
def test_match_filter(
    props: dict[str, PropertyValue], values: dict[str, list[str]], matches: bool
) -> None:
    assert match_filter(props, values) is matches


def test_events_go_to_the_most_specific_filter() -> None:
    filters = [
        ChargeFilter({"region": ("eu",)}, {"amount": "1"}),
        ChargeFilter({"region": ("eu",), "cloud": ("aws",)}, {"amount": "2"}),
        ChargeFilter({"cloud": ("gcp",)}, {"amount": "3"}),
    ]
    events = [
        event("eu-aws", region="eu", cloud="aws"),  # matches 0 and 1: 1 has two keys
        event("eu-azure", region="eu", cloud="azure"),  # only 0
        event("us-gcp", region="us", cloud="gcp"),  # only 2
        event("us-aws", region="us", cloud="aws"),  # none: charge's default properties
        event("eu-gcp", region="eu", cloud="gcp"),  # 0 and 2, one key each: first listed wins
    ]
    buckets = assign_events_to_filters(events, filters)
    ids = {key: [e.transaction_id for e in bucket] for key, bucket in buckets.items()}
    assert ids == {
        0: ["eu-azure", "eu-gcp"],
        1: ["eu-aws"],
        2: ["us-gcp"],
        DEFAULT_BUCKET: ["us-aws"],
    }


def test_explicit_value_beats_wildcard_on_the_same_keys() -> None:
    filters = [
        ChargeFilter({"region": (ALL_FILTER_VALUES,)}),
        ChargeFilter({"region": ("eu",)}),
    ]
    buckets = assign_events_to_filters([event("a", region="eu"), event("b", region="us")], filters)
    assert [e.transaction_id for e in buckets[0]] == ["b"]
    assert [e.transaction_id for e in buckets[1]] == ["a"]


def test_every_bucket_is_present_even_when_empty() -> None:
    buckets = assign_events_to_filters([], [ChargeFilter({"region": ("eu",)})])
    assert buckets == {0: [], DEFAULT_BUCKET: []}


def test_filter_from_lago_payload_and_display_name() -> None:
    payload = {
        "invoice_display_name": None,
        "properties": {"amount": "10"},
        "values": {"region": ["Europe", "Africa"], "tier": ["gold"]},
    }
    charge_filter = ChargeFilter.from_payload(payload)
    assert charge_filter.values == {"region": ("Europe", "Africa"), "tier": ("gold",)}
    assert charge_filter.properties == {"amount": "10"}
    assert charge_filter.display_name == "Europe, Africa, gold"
    named = ChargeFilter.from_payload({**payload, "invoice_display_name": "EMEA"})
    assert named.display_name == "EMEA"
    assert ChargeFilter.from_payload({}).values == {}


METRIC_FILTERS = {"region": ["eu", "us"], "cloud": ["aws", "gcp"]}


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"region": ["eu"]}, {}),
        ({"region": ["eu", "us"], "cloud": [ALL_FILTER_VALUES]}, {}),
        ({}, {"values": ["value_is_mandatory"]}),
        ({"color": ["red"]}, {"color": ["invalid_filter_key"]}),
        ({"region": ["mars"]}, {"region": ["invalid_filter_value"]}),
        ({"region": []}, {"region": ["value_is_mandatory"]}),
        (
            {"region": ["eu", "moon"], "cloud": ["ibm"], "os": ["linux"]},
            {
                "region": ["invalid_filter_value"],
                "cloud": ["invalid_filter_value"],
                "os": ["invalid_filter_key"],
            },
        ),
    ],
)
def test_filter_errors(values: dict[str, list[str]], errors: dict[str, list[str]]) -> None:
    assert filter_errors(values, METRIC_FILTERS) == errors
