"""Privilege values as Lago checks, stores and casts them; a subscription's entitlements
composed from its plan's, its overrides and its removals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bxb.billing.entitlements import (
    MAX_INTEGER,
    FeatureDef,
    Grant,
    GrantedValue,
    InvalidPrivilegeValueError,
    PrivilegeDef,
    cast_value,
    config_is_valid,
    same_value,
    stored_value,
    subscription_entitlements,
)

INTEGER = PrivilegeDef("max", None, "integer", {})
BOOLEAN = PrivilegeDef("root", None, "boolean", {})
STRING = PrivilegeDef("label", None, "string", {})
SELECT = PrivilegeDef("provider", None, "select", {"select_options": ["google", "okta"]})


@pytest.mark.parametrize(
    ("privilege", "value", "stored", "cast"),
    [
        (INTEGER, 25, "25", 25),
        (INTEGER, "25", "25", 25),
        (INTEGER, -3, "-3", -3),
        (INTEGER, "-3", "-3", -3),
        (INTEGER, MAX_INTEGER, str(MAX_INTEGER), MAX_INTEGER),
        (BOOLEAN, True, "true", True),
        (BOOLEAN, "false", "false", False),
        (STRING, "Team", "Team", "Team"),
        (STRING, "", "", ""),
        (SELECT, "okta", "okta", "okta"),
    ],
)
def test_accepted_values_are_stored_as_text_and_cast_back(
    privilege: PrivilegeDef, value: object, stored: str, cast: object
) -> None:
    assert stored_value(privilege, value) == stored
    assert cast_value(stored, privilege.value_type) == cast


@pytest.mark.parametrize(
    ("privilege", "value", "code"),
    [
        (INTEGER, 1.0, "value_is_invalid"),
        (INTEGER, "1.0", "value_is_invalid"),
        (INTEGER, "01", "value_is_invalid"),
        (INTEGER, " 1", "value_is_invalid"),
        (INTEGER, "+1", "value_is_invalid"),
        (INTEGER, "٣", "value_is_invalid"),  # a digit, but not an ASCII one
        (INTEGER, True, "value_is_invalid"),
        (INTEGER, MAX_INTEGER + 1, "value_is_invalid"),
        (BOOLEAN, 1, "value_is_invalid"),
        (BOOLEAN, "True", "value_is_invalid"),
        (STRING, 1, "value_is_invalid"),
        (STRING, "x" * 10_001, "value_is_invalid"),
        (SELECT, "azure", "value_not_in_select_options"),
        (SELECT, ["okta"], "value_not_in_select_options"),
    ],
)
def test_refused_values_name_the_privilege(
    privilege: PrivilegeDef, value: object, code: str
) -> None:
    with pytest.raises(InvalidPrivilegeValueError) as refused:
        stored_value(privilege, value)
    assert (refused.value.field, refused.value.code) == (f"{privilege.code}_privilege_value", code)


@given(st.integers(min_value=-MAX_INTEGER, max_value=MAX_INTEGER))
def test_an_integer_and_its_text_are_the_same_value(number: int) -> None:
    assert stored_value(INTEGER, number) == stored_value(INTEGER, str(number)) == str(number)
    assert cast_value(str(number), "integer") == number
    assert same_value("integer", number, str(number))


def test_casts_follow_rails() -> None:
    assert cast_value("12abc", "integer") == 12  # Ruby's to_i
    assert cast_value("abc", "integer") == 0
    assert same_value("boolean", True, "true")
    assert not same_value("boolean", True, "false")
    assert same_value("string", "a", "a")
    assert cast_value(None, "integer") is None


@pytest.mark.parametrize(
    ("value_type", "config", "valid"),
    [
        ("select", {"select_options": ["a"]}, True),
        ("select", {"select_options": []}, False),
        ("select", {"select_options": ["a", 1]}, False),
        ("select", {"select_options": ["a"], "other": 1}, False),
        ("select", {}, False),
        ("integer", {}, True),
        ("integer", {"select_options": ["a"]}, False),
    ],
)
def test_only_a_select_has_a_config(value_type: str, config: dict[str, Any], valid: bool) -> None:
    assert config_is_valid(value_type, config) is valid


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def grant(code: str, minutes: int, *values: tuple[PrivilegeDef, str, int]) -> Grant:
    return Grant(
        FeatureDef(code, None, None), [GrantedValue(p, v, at(m)) for p, v, m in values], at(minutes)
    )


def summary(entitlements: Any) -> list[tuple[str, list[tuple[str, str, str | None, str | None]]]]:
    return [
        (
            e.feature.code,
            [(p.privilege.code, p.value, p.plan_value, p.override_value) for p in e.privileges],
        )
        for e in entitlements
    ]


def test_overrides_removals_and_the_order_of_grants() -> None:
    plan = [
        grant("seats", 0, (INTEGER, "10", 1), (BOOLEAN, "true", 2), (SELECT, "google", 3)),
        grant("storage", 5, (INTEGER, "100", 6)),
        grant("audit", 10, (BOOLEAN, "true", 11)),
    ]
    own = [
        grant("sso", 2, (SELECT, "okta", 20)),  # the subscription's own, granted before storage
        grant("seats", 30, (STRING, "vip", 31), (INTEGER, "15", 32)),
        grant("audit", 40, (BOOLEAN, "false", 41)),
    ]
    composed = subscription_entitlements(
        plan, own, frozenset({"audit"}), frozenset({("seats", "root"), ("storage", "max")})
    )
    assert summary(composed) == [
        (
            "seats",
            [
                ("max", "15", "10", "15"),
                ("provider", "google", "google", None),
                ("label", "vip", None, "vip"),
            ],
        ),
        ("sso", [("provider", "okta", None, "okta")]),
        ("storage", []),
    ]
