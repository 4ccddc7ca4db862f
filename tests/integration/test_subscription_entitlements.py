"""/api/v1/subscriptions/{external_id}/entitlements: a subscription's plan entitlements
with its own overrides and removals, on subscriptions created through the real workflow."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.auth import Tenant
from tests.support.entitlements import Api, privilege

PATH = "/subscriptions/sub_1/entitlements"


@pytest.fixture
async def api(temporal_client: httpx.AsyncClient, worker: str, tenant_a: Tenant) -> Api:
    api = Api(temporal_client, tenant_a)
    await api.feature()
    await api.feature({"code": "sso", "privileges": [{"code": "enabled", "value_type": "boolean"}]})
    await api.plan()
    await api.grant("basic", {"seats": {"max": 10, "root": True, "provider": "google"}})
    await api.ok("POST", "/customers", {"customer": {"external_id": "cus_1"}})
    body = {"external_customer_id": "cus_1", "plan_code": "basic", "external_id": "sub_1"}
    await api.ok("POST", "/subscriptions", {"subscription": body})
    return api


def seats(*privileges: Any, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "code": "seats",
        "name": "Number of seats",
        "description": "Users of the account",
        "privileges": list(privileges),
        "overrides": overrides or {},
    }


def sub(code: str, kind: str, value: Any, plan: Any, override: Any, name: str | None = None) -> Any:
    return privilege(code, kind, value, name, plan_value=plan, override_value=override)


MAX = ("max", "integer")
ROOT = ("root", "boolean")
PROVIDER = ("provider", "select")


def values(answer: dict[str, Any]) -> dict[str, dict[str, tuple[Any, Any, Any]]]:
    """{feature: {privilege: (value, plan_value, override_value)}}"""
    return {
        e["code"]: {
            p["code"]: (p["value"], p["plan_value"], p["override_value"]) for p in e["privileges"]
        }
        for e in answer["entitlements"]
    }


async def test_overrides_over_the_plans_values(api: Api) -> None:
    assert await api.ok("GET", PATH) == {
        "entitlements": [
            seats(
                sub(*MAX, 10, 10, None, name="Maximum"),
                sub(*ROOT, True, True, None, name="Allow root user"),
                sub(*PROVIDER, "google", "google", None, name="SSO Provider"),
            )
        ]
    }
    body = {"entitlements": {"seats": {"max": 15, "provider": "okta"}, "sso": {"enabled": True}}}
    patched = await api.ok("PATCH", PATH, body)
    assert patched == {
        "entitlements": [
            seats(
                sub(*MAX, 15, 10, 15, name="Maximum"),
                sub(*ROOT, True, True, None, name="Allow root user"),
                sub(*PROVIDER, "okta", "google", "okta", name="SSO Provider"),
                overrides={"max": 15, "provider": "okta"},
            ),
            {
                "code": "sso",
                "name": None,
                "description": None,
                "privileges": [sub("enabled", "boolean", True, None, True)],
                "overrides": {"enabled": True},
            },
        ]
    }
    assert await api.ok("GET", PATH) == patched
    # An override changes; a wrong value for it is refused and changes nothing.
    again = await api.ok("PATCH", PATH, {"entitlements": {"seats": {"max": "16"}}})
    assert values(again)["seats"]["max"] == (16, 10, 16)
    wrong = {"entitlements": {"seats": {"max": "sixteen"}}}
    await api.error("PATCH", PATH, wrong, 422)
    assert values(await api.ok("GET", PATH))["seats"]["max"] == (16, 10, 16)
    patched = await api.ok("PATCH", PATH, {"entitlements": {"seats": {"max": 15}}})

    # The plan's changes reach the subscription at once; its overrides stay.
    await api.grant("basic", {"seats": {"root": False, "max": 12}}, method="PATCH")
    assert values(await api.ok("GET", PATH))["seats"] == {
        "max": (15, 12, 15),
        "root": (False, False, None),
        "provider": ("okta", "google", "okta"),
    }
    # A value equal to the plan's drops its override ("12" is 12 for an integer).
    after = await api.ok("PATCH", PATH, {"entitlements": {"seats": {"max": "12"}}})
    assert values(after)["seats"]["max"] == (12, 12, None)
    # The plan's exact values drop every override of the feature.
    same = {"max": 12, "root": "false", "provider": "google"}
    after = await api.ok("PATCH", PATH, {"entitlements": {"seats": same}})
    assert values(after)["seats"] == {
        "max": (12, 12, None),
        "root": (False, False, None),
        "provider": ("google", "google", None),
    }
    assert after["entitlements"][0]["overrides"] == {}


async def test_removing_and_restoring_features_and_privileges(api: Api) -> None:
    await api.ok("PATCH", PATH, {"entitlements": {"seats": {"max": 20}, "sso": {"enabled": True}}})
    answer = await api.ok("DELETE", f"{PATH}/seats/privileges/root")
    assert list(values(answer)["seats"]) == ["max", "provider"]
    assert answer["entitlement"] == answer["entitlements"][0]  # the feature, after
    # An override of a removed plan privilege is dropped too.
    answer = await api.ok("DELETE", f"{PATH}/seats/privileges/max")
    assert values(answer)["seats"] == {"provider": ("google", "google", None)}
    # Sending a privilege back lifts its removal.
    answer = await api.ok("PATCH", PATH, {"entitlements": {"seats": {"root": False}}})
    assert values(answer)["seats"] == {
        "root": (False, True, False),
        "provider": ("google", "google", None),
    }

    removed = await api.ok("DELETE", f"{PATH}/seats")
    assert removed["entitlement"]["code"] == "seats"  # as it was
    assert values(removed)["sso"] == {"enabled": (True, None, True)}
    assert [e["code"] for e in removed["entitlements"]] == ["sso"]
    # The plan still grants it; a new plan value does not bring it back.
    await api.grant("basic", {"seats": {"max": 11}}, method="PATCH")
    assert [e["code"] for e in (await api.ok("GET", PATH))["entitlements"]] == ["sso"]
    # Sending the feature back lifts the removal (all its privilege removals went with it).
    answer = await api.ok("PATCH", PATH, {"entitlements": {"seats": {"max": 3}}})
    assert values(answer)["seats"] == {
        "max": (3, 11, 3),
        "root": (True, True, None),
        "provider": ("google", "google", None),
    }

    # A feature the plan does not grant leaves without a trace: the plan may grant it later.
    answer = await api.ok("DELETE", f"{PATH}/sso")
    assert [e["code"] for e in answer["entitlements"]] == ["seats"]
    await api.grant("basic", {"sso": {"enabled": False}}, method="PATCH")
    assert values(await api.ok("GET", PATH))["sso"] == {"enabled": (False, False, None)}


async def test_deleted_features_and_privileges_leave_subscriptions(api: Api) -> None:
    await api.ok("PATCH", PATH, {"entitlements": {"seats": {"max": 20}, "sso": {"enabled": True}}})
    await api.ok("DELETE", "/features/seats/privileges/max")
    assert values(await api.ok("GET", PATH))["seats"] == {
        "root": (True, True, None),
        "provider": ("google", "google", None),
    }
    await api.ok("DELETE", "/features/sso")
    assert [e["code"] for e in (await api.ok("GET", PATH))["entitlements"]] == ["seats"]


async def test_bad_requests_get_lagos_answers(api: Api) -> None:
    cases: list[tuple[dict[str, Any], int, dict[str, Any]]] = [
        ({"storage": {"gb": 1}}, 404, {"code": "feature_not_found"}),
        ({"seats": {"gb": 1}}, 404, {"code": "privilege_not_found"}),
        ({"sso": {"max": 1}}, 404, {"code": "privilege_not_found"}),
        (
            {"seats": {"max": "ten"}},
            422,
            {"error_details": {"max_privilege_value": ["value_is_invalid"]}},
        ),
        (
            {"seats": {"root": "no"}},
            422,
            {"error_details": {"root_privilege_value": ["value_is_invalid"]}},
        ),
        (
            {"sso": {"enabled": True}, "seats": {"provider": "azure"}},
            422,
            {"error_details": {"provider_privilege_value": ["value_not_in_select_options"]}},
        ),
    ]
    for body, status, answer in cases:
        error = await api.error("PATCH", PATH, {"entitlements": body}, status)
        assert answer.items() <= error.items()
    # Nothing of the refused requests stayed (sso was granted before the bad value).
    assert [e["code"] for e in (await api.ok("GET", PATH))["entitlements"]] == ["seats"]
    for method, path, code in [
        ("GET", "/subscriptions/nope/entitlements", "subscription_not_found"),
        ("GET", f"{PATH}?subscription_status=terminated", "subscription_not_found"),
        ("DELETE", f"{PATH}/storage", "feature_not_found"),
        ("DELETE", f"{PATH}/storage/privileges/max", "feature_not_found"),
        ("DELETE", f"{PATH}/seats/privileges/gb", "privilege_not_found"),
    ]:
        assert (await api.error(method, path, None, 404))["code"] == code
    pending = await api.ok("GET", f"{PATH}?subscription_status=active")
    assert [e["code"] for e in pending["entitlements"]] == ["seats"]


async def test_another_organization_sees_no_subscription(
    api: Api, temporal_client: httpx.AsyncClient, tenant_b: Tenant
) -> None:
    other = Api(temporal_client, tenant_b)
    await other.feature()
    body = {"entitlements": {"seats": {"max": 1}}}
    for method, path, payload in [
        ("GET", PATH, None),
        ("PATCH", PATH, body),
        ("DELETE", f"{PATH}/seats", None),
        ("DELETE", f"{PATH}/seats/privileges/max", None),
    ]:
        assert (await other.error(method, path, payload, 404))["code"] == "subscription_not_found"
    assert values(await api.ok("GET", PATH))["seats"]["max"] == (10, 10, None)
