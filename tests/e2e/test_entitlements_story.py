"""A subscription's entitlements follow its plan: an upgrade at once, a downgrade at the
period end (test clock), with the real Temporal workflow moving the subscription.

Overrides belong to the plan segment they were made on, as in Lago, where they belong to
one subscription record and a plan change makes another: the upgraded segment starts with
the new plan's entitlements and no overrides (the old segment keeps its own, readable with
`subscription_status=terminated`); overrides made on a downgrade's pending segment apply
when it takes over.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.auth import Tenant
from tests.support.entitlements import Api
from tests.support.subscriptions import SubscriptionApi

pytestmark = pytest.mark.slow

PATH = "/subscriptions/sub_1/entitlements"


def values(answer: dict[str, Any]) -> dict[str, dict[str, tuple[Any, Any, Any]]]:
    """{feature: {privilege: (value, plan_value, override_value)}}"""
    return {
        e["code"]: {
            p["code"]: (p["value"], p["plan_value"], p["override_value"]) for p in e["privileges"]
        }
        for e in answer["entitlements"]
    }


async def test_entitlements_after_an_upgrade_and_a_scheduled_downgrade(
    subscription_api: SubscriptionApi, tenant_a: Tenant
) -> None:
    subs = subscription_api
    api = Api(subs.client, tenant_a)
    await subs.customer_on_clock("2026-03-01T00:00:00Z")
    await api.feature({"code": "seats", "privileges": [{"code": "max", "value_type": "integer"}]})
    sso = {
        "code": "sso",
        "privileges": [
            {
                "code": "provider",
                "value_type": "select",
                "config": {"select_options": ["google", "okta"]},
            }
        ],
    }
    await api.feature(sso)
    plans: list[tuple[str, int, dict[str, Any]]] = [
        ("basic", 3_100, {"seats": {"max": 5}}),
        ("premium", 9_900, {"seats": {"max": 50}, "sso": {"provider": "okta"}}),
        ("lite", 1_000, {"seats": {"max": 1}}),
    ]
    for code, amount, grants in plans:
        await subs.plan(code, amount)
        await api.grant(code, grants)

    assert (await subs.subscribe()).status_code == 200
    assert values(await api.ok("GET", PATH)) == {"seats": {"max": (5, 5, None)}}
    overridden = await api.ok("PATCH", PATH, {"entitlements": {"seats": {"max": 8}}})
    assert values(overridden) == {"seats": {"max": (8, 5, 8)}}

    # Mar 10: an upgrade applies at once. The new segment has premium's entitlements.
    assert (await subs.advance("2026-03-10T00:00:00Z")).status_code == 200
    assert (await subs.subscribe(plan_code="premium")).status_code == 200
    subscription = await subs.subscription()
    assert (subscription["plan_code"], subscription["status"]) == ("premium", "active")
    assert values(await api.ok("GET", PATH)) == {
        "seats": {"max": (50, 50, None)},
        "sso": {"provider": ("okta", "okta", None)},
    }
    basic = await api.ok("GET", f"{PATH}?subscription_status=terminated")
    assert values(basic) == {"seats": {"max": (8, 5, 8)}}
    await api.ok("PATCH", PATH, {"entitlements": {"sso": {"provider": "google"}}})

    # Mar 15: a downgrade waits for the period's end; premium's entitlements hold until then.
    assert (await subs.advance("2026-03-15T00:00:00Z")).status_code == 200
    assert (await subs.subscribe(plan_code="lite")).status_code == 200
    premium = {"seats": {"max": (50, 50, None)}, "sso": {"provider": ("google", "okta", "google")}}
    assert values(await api.ok("GET", PATH)) == premium
    pending = f"{PATH}?subscription_status=pending"
    assert values(await api.ok("GET", pending)) == {"seats": {"max": (1, 1, None)}}
    await api.ok("PATCH", pending, {"entitlements": {"seats": {"max": 2}}})
    assert (await subs.advance("2026-03-31T23:59:59Z")).status_code == 200
    assert values(await api.ok("GET", PATH)) == premium

    # Apr 1: the downgrade takes effect, with the override made on its pending segment.
    assert (await subs.advance("2026-04-01T00:00:00Z")).status_code == 200
    subscription = await subs.subscription()
    assert (subscription["plan_code"], subscription["status"]) == ("lite", "active")
    assert values(await api.ok("GET", PATH)) == {"seats": {"max": (2, 1, 2)}}
    # The latest ended segment is premium's, with its own override.
    assert values(await api.ok("GET", f"{PATH}?subscription_status=terminated")) == premium
    await api.error("GET", pending, None, 404)
