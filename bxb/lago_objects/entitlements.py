"""Lago's PlanEntitlementObject and SubscriptionEntitlementObject
(V1::Entitlement::PlanEntitlementSerializer, SubscriptionEntitlementSerializer).

Values are cast by their privilege's type (an integer, a boolean, or the text)."""

from __future__ import annotations

from typing import Any

from bxb.billing.entitlements import (
    EffectiveEntitlement,
    Grant,
    PrivilegeDef,
    cast_value,
)


def _privilege(privilege: PrivilegeDef) -> dict[str, Any]:
    return {
        "code": privilege.code,
        "name": privilege.name,
        "value_type": privilege.value_type,
        "config": dict(privilege.config),
    }


def plan_entitlement_object(grant: Grant) -> dict[str, Any]:
    return {
        "code": grant.feature.code,
        "name": grant.feature.name,
        "description": grant.feature.description,
        "privileges": [
            {
                **_privilege(v.privilege),
                "value": cast_value(v.value, v.privilege.value_type),
            }
            for v in grant.values
        ],
    }


def subscription_entitlement_object(entitlement: EffectiveEntitlement) -> dict[str, Any]:
    privileges = []
    overrides: dict[str, Any] = {}
    for p in entitlement.privileges:
        kind = p.privilege.value_type
        privileges.append(
            {
                **_privilege(p.privilege),
                "value": cast_value(p.value, kind),
                "plan_value": cast_value(p.plan_value, kind),
                "override_value": cast_value(p.override_value, kind),
            }
        )
        if p.override_value is not None:
            overrides[p.privilege.code] = cast_value(p.override_value, kind)
    return {
        "code": entitlement.feature.code,
        "name": entitlement.feature.name,
        "description": entitlement.feature.description,
        "privileges": privileges,
        "overrides": overrides,
    }
