"""Entitlements, the pure part: privilege values checked, stored and cast as Lago does, and
a subscription's entitlements composed from its plan's and its own overrides.

Lago (app/services/entitlement/concerns/create_or_update_concern.rb, utils/entitlement.rb)
stores every value as text and casts it by the privilege's value type on the way out:

- integer: a JSON integer, or a string that is exactly an integer's decimal form ("25");
- boolean: true, false, "true" or "false";
- string: a JSON string;
- select: one of the privilege's `select_options` (an exact match).

A wrong value is refused with `{"<privilege>_privilege_value": ["value_is_invalid"]}`, or
`value_not_in_select_options` for a select.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

VALUE_TYPES = ("integer", "boolean", "string", "select")
MAX_INTEGER = 2**63 - 1  # bxb's bound: an integer privilege fits a BIGINT
MAX_VALUE_LENGTH = 10_000  # bxb's bound on a string value (Lago stores any length)
_TRUE = frozenset({"true", "t", "1", "on", "yes", "y"})  # Rails' boolean cast; any other is false


class InvalidPrivilegeValueError(ValueError):
    """A privilege value that its type refuses: `field` and Lago's error code."""

    def __init__(self, privilege_code: str, code: str) -> None:
        super().__init__(f"{privilege_code}: {code}")
        self.field = f"{privilege_code}_privilege_value"
        self.code = code


@dataclass(frozen=True)
class PrivilegeDef:
    code: str
    name: str | None
    value_type: str
    config: Mapping[str, Any]


def config_is_valid(value_type: str, config: Mapping[str, Any] | None) -> bool:
    """Lago's Privilege#config_valid?: a select has exactly a non-empty list of string
    `select_options`; every other type an empty config."""
    if value_type == "select":
        if config is None or list(config.keys()) != ["select_options"]:
            return False
        options = config["select_options"]
        return (
            isinstance(options, list) and bool(options) and all(isinstance(o, str) for o in options)
        )
    return not config


def stored_value(privilege: PrivilegeDef, value: object) -> str:
    """The text Lago stores for value, or InvalidPrivilegeValueError."""
    kind = privilege.value_type
    if kind == "select":
        options = privilege.config.get("select_options") or []
        if isinstance(value, str) and value in options:
            return value
        raise InvalidPrivilegeValueError(privilege.code, "value_not_in_select_options")
    if kind == "boolean" and value in (True, False, "true", "false") and not _is_int(value):
        return "true" if value in (True, "true") else "false"
    if kind == "integer":
        if _is_int(value) and abs(int(str(value))) <= MAX_INTEGER:
            return str(value)
        if isinstance(value, str) and _is_int_text(value) and abs(int(value)) <= MAX_INTEGER:
            return value
    if kind == "string" and isinstance(value, str) and len(value) <= MAX_VALUE_LENGTH:
        return value
    raise InvalidPrivilegeValueError(privilege.code, "value_is_invalid")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_int_text(value: str) -> bool:
    """Ruby's `value.to_i.to_s == value`: an optional minus, digits, no leading zero."""
    digits = value[1:] if value.startswith("-") else value
    if not digits.isascii() or not digits.isdigit():
        return False
    return value == str(int(value))


def cast_value(value: str | None, value_type: str) -> Any:
    """A stored value as Lago answers it: an integer, a boolean, or the text."""
    if value is None:
        return None
    if value_type == "integer":
        return _to_i(value)
    if value_type == "boolean":
        return value.strip().lower() in _TRUE
    return value


def _to_i(value: str) -> int:
    """Ruby's String#to_i: the leading integer, 0 when there is none."""
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    digits = ""
    for char in text.lstrip("+-"):
        if not char.isdigit():
            break
        digits += char
    return sign * int(digits) if digits else 0


def same_value(value_type: str, first: object, second: object) -> bool:
    """Lago's Utils::Entitlement.same_value?: equal once both are cast."""

    def cast(value: object) -> Any:
        return cast_value(None if value is None else _as_text(value), value_type)

    return bool(cast(first) == cast(second))


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class FeatureDef:
    code: str
    name: str | None
    description: str | None


@dataclass(frozen=True)
class GrantedValue:
    """One privilege's value on an entitlement (a plan's or a subscription's)."""

    privilege: PrivilegeDef
    value: str
    granted_at: datetime


@dataclass(frozen=True)
class Grant:
    """A feature granted by one plan or one subscription, with its values."""

    feature: FeatureDef
    values: Sequence[GrantedValue]
    granted_at: datetime


@dataclass(frozen=True)
class EffectivePrivilege:
    privilege: PrivilegeDef
    value: str
    plan_value: str | None
    override_value: str | None


@dataclass(frozen=True)
class EffectiveEntitlement:
    feature: FeatureDef
    privileges: list[EffectivePrivilege] = field(default_factory=list)


def subscription_entitlements(
    plan: Sequence[Grant],
    overrides: Sequence[Grant],
    removed_features: frozenset[str],
    removed_privileges: frozenset[tuple[str, str]],
) -> list[EffectiveEntitlement]:
    """A subscription's entitlements: its plan's, less the features and privileges it
    removed, with its own values over the plan's and its own features added.

    Lago's SubscriptionEntitlementQuery: a feature the plan grants is dropped when the
    subscription removed it; a plan privilege is dropped when the subscription removed it
    (an override value of it is kept). Features and privileges are in the order they were
    first granted (the plan's grant when there is one).
    """
    by_code = {grant.feature.code: grant for grant in overrides}
    result: list[tuple[datetime, EffectiveEntitlement]] = []
    seen: set[str] = set()
    for grant in plan:
        code = grant.feature.code
        seen.add(code)
        if code not in removed_features:
            merged = _merge(grant, by_code.get(code), removed_privileges)
            result.append((grant.granted_at, merged))
    for grant in overrides:
        if grant.feature.code not in seen:
            result.append((grant.granted_at, _merge(None, grant, removed_privileges)))
    result.sort(key=lambda pair: pair[0])
    return [entitlement for _, entitlement in result]


def _merge(
    plan: Grant | None, override: Grant | None, removed: frozenset[tuple[str, str]]
) -> EffectiveEntitlement:
    grant = plan or override
    assert grant is not None
    own = {v.privilege.code: v for v in override.values} if override else {}
    privileges: list[tuple[datetime, EffectivePrivilege]] = []
    for planned in plan.values if plan else ():
        mine = own.pop(planned.privilege.code, None)
        if mine is None and (grant.feature.code, planned.privilege.code) in removed:
            continue
        effective = EffectivePrivilege(
            privilege=planned.privilege,
            value=mine.value if mine else planned.value,
            plan_value=planned.value,
            override_value=mine.value if mine else None,
        )
        privileges.append((planned.granted_at, effective))
    for mine in own.values():
        effective = EffectivePrivilege(mine.privilege, mine.value, None, mine.value)
        privileges.append((mine.granted_at, effective))
    privileges.sort(key=lambda pair: pair[0])
    return EffectiveEntitlement(grant.feature, [privilege for _, privilege in privileges])
