"""/api/v1/plans/{code}/entitlements: the features a plan grants, with values checked by
their privilege's type, in Lago's shapes and with Lago's errors."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Plan, Subscription
from tests.support.auth import Tenant
from tests.support.entitlements import Api, privilege

SEATS = {
    "code": "seats",
    "name": "Number of seats",
    "description": "Users of the account",
}


@pytest.fixture
async def api(client: httpx.AsyncClient, tenant_a: Tenant) -> Api:
    api = Api(client, tenant_a)
    await api.feature()
    await api.feature({"code": "sso", "privileges": [{"code": "enabled", "value_type": "boolean"}]})
    await api.plan()
    return api


def seats(*privileges: Any) -> dict[str, Any]:
    return SEATS | {"privileges": list(privileges)}


async def test_post_grants_features_with_values_cast_by_type(api: Api) -> None:
    granted = await api.grant(
        "basic",
        {
            "seats": {"max": "25", "root": "true", "label": "Team", "provider": "okta"},
            "sso": {"enabled": False},
        },
    )
    expected = [
        seats(
            privilege("max", "integer", 25, "Maximum"),
            privilege("root", "boolean", True, "Allow root user"),
            privilege("label", "string", "Team"),
            privilege("provider", "select", "okta", "SSO Provider"),
        ),
        {
            "code": "sso",
            "name": None,
            "description": None,
            "privileges": [privilege("enabled", "boolean", False)],
        },
    ]
    assert granted == expected
    assert await api.ok("GET", "/plans/basic/entitlements") == {"entitlements": expected}
    one = await api.ok("GET", "/plans/basic/entitlements/seats")
    assert one == {"entitlement": expected[0]}
    # Lago's plan object carries them too.
    assert (await api.ok("GET", "/plans/basic"))["plan"]["entitlements"] == expected
    listed = await api.ok("GET", "/plans")
    assert [p["entitlements"] for p in listed["plans"]] == [expected]


async def test_post_replaces_and_patch_adds(api: Api) -> None:
    await api.grant("basic", {"seats": {"max": 10, "root": True}, "sso": {"enabled": True}})
    # POST: sso leaves the plan, seats keeps only the privileges sent.
    replaced = await api.grant("basic", {"seats": {"max": 20}})
    assert replaced == [seats(privilege("max", "integer", 20, "Maximum"))]
    # PATCH: adds sso back and seats' label, updates max, leaves the rest.
    patched = await api.grant(
        "basic", {"seats": {"max": 30, "label": "Pro"}, "sso": {"enabled": True}}, method="PATCH"
    )
    assert patched == [
        seats(
            privilege("max", "integer", 30, "Maximum"),
            privilege("label", "string", "Pro"),
        ),
        {
            "code": "sso",
            "name": None,
            "description": None,
            "privileges": [privilege("enabled", "boolean", True)],
        },
    ]
    assert await api.grant("basic", {}, method="PATCH") == patched
    # A feature sent without values keeps its values, even in a POST (as in Lago).
    assert await api.grant("basic", {"sso": None, "seats": {}}, method="PATCH") == patched
    assert await api.grant("basic", {"sso": {}}) == patched[1:]
    granted = await api.grant("basic", {"sso": {"enabled": True}, "seats": None})
    assert granted == [
        patched[1],
        {
            "code": "seats",
            "name": "Number of seats",
            "description": "Users of the account",
            "privileges": [],
        },
    ]
    assert await api.grant("basic", {}) == []  # Lago: an empty POST removes everything


@pytest.mark.parametrize(
    ("values", "details"),
    [
        ({"max": 1.5}, {"max_privilege_value": ["value_is_invalid"]}),
        ({"max": "12abc"}, {"max_privilege_value": ["value_is_invalid"]}),
        ({"max": "012"}, {"max_privilege_value": ["value_is_invalid"]}),
        ({"max": True}, {"max_privilege_value": ["value_is_invalid"]}),
        ({"max": [12, 13]}, {"max_privilege_value": ["value_is_invalid"]}),
        ({"max": 2**63}, {"max_privilege_value": ["value_is_invalid"]}),
        ({"root": "yes"}, {"root_privilege_value": ["value_is_invalid"]}),
        ({"root": 1}, {"root_privilege_value": ["value_is_invalid"]}),
        ({"label": 5}, {"label_privilege_value": ["value_is_invalid"]}),
        ({"label": {"a": 1}}, {"label_privilege_value": ["value_is_invalid"]}),
        ({"provider": "azure"}, {"provider_privilege_value": ["value_not_in_select_options"]}),
        ({"provider": "OKTA"}, {"provider_privilege_value": ["value_not_in_select_options"]}),
        ({"max": None}, {"privilege.value": ["value_is_mandatory"]}),
    ],
)
async def test_a_value_of_the_wrong_type_gets_lagos_422(
    api: Api, values: dict[str, Any], details: dict[str, list[str]]
) -> None:
    await api.grant("basic", {"seats": {"max": 5}})
    for method in ("POST", "PATCH"):
        body = {"entitlements": {"sso": {"enabled": True}, "seats": values}}
        answer = await api.error(method, "/plans/basic/entitlements", body, 422)
        assert answer == {
            "status": 422,
            "error": "Unprocessable Entity",
            "code": "validation_errors",
            "error_details": details,
        }
    # One transaction: nothing of the refused requests stayed.
    assert await api.ok("GET", "/plans/basic/entitlements") == {
        "entitlements": [seats(privilege("max", "integer", 5, "Maximum"))]
    }


async def test_unknown_feature_or_privilege_codes_get_lagos_404(api: Api) -> None:
    """Lago answers these with 404 feature_not_found / privilege_not_found, not 422."""
    await api.grant("basic", {"seats": {"max": 5}})
    for method in ("POST", "PATCH"):
        for body, code in [
            ({"seats": {"max": 6}, "storage": {"max_gb": 1}}, "feature_not_found"),
            ({"seats": {"max": 6, "max_gb": 1}}, "privilege_not_found"),
            ({"sso": {"max": 1}}, "privilege_not_found"),  # another feature's privilege
        ]:
            path = "/plans/basic/entitlements"
            answer = await api.error(method, path, {"entitlements": body}, 404)
            assert answer == {"status": 404, "error": "Not Found", "code": code}
    entitlements = await api.ok("GET", "/plans/basic/entitlements")
    assert entitlements["entitlements"][0]["privileges"][0]["value"] == 5
    plan = await api.error("POST", "/plans/nope/entitlements", {"entitlements": {}}, 404)
    assert plan["code"] == "plan_not_found"
    malformed = {"entitlements": {"seats": 5}}
    answer = await api.error("PATCH", "/plans/basic/entitlements", malformed, 422)
    assert answer["error_details"] == {"seats": ["invalid_type"]}


async def test_deleting_an_entitlement_or_one_of_its_privileges(api: Api) -> None:
    await api.grant("basic", {"seats": {"max": 10, "root": True}, "sso": {"enabled": True}})
    without_root = await api.ok("DELETE", "/plans/basic/entitlements/seats/privileges/root")
    assert without_root == {"entitlement": seats(privilege("max", "integer", 10, "Maximum"))}
    feature = await api.ok("GET", "/features/seats")
    assert "root" in [p["code"] for p in feature["feature"]["privileges"]]  # still on the feature
    for path, code in [
        ("/plans/basic/entitlements/seats/privileges/root", "privilege_not_found"),
        ("/plans/basic/entitlements/seats/privileges/nope", "privilege_not_found"),
        ("/plans/basic/entitlements/nope/privileges/root", "entitlement_not_found"),
        ("/plans/nope/entitlements/seats/privileges/max", "plan_not_found"),
    ]:
        assert (await api.error("DELETE", path, None, 404))["code"] == code

    removed = await api.ok("DELETE", "/plans/basic/entitlements/seats")
    assert removed == without_root  # the entitlement as it was
    for method in ("GET", "DELETE"):
        gone = await api.error(method, "/plans/basic/entitlements/seats", None, 404)
        assert gone == {"status": 404, "error": "Not Found", "code": "entitlement_not_found"}
    listed = await api.ok("GET", "/plans/basic/entitlements")
    assert [e["code"] for e in listed["entitlements"]] == ["sso"]


async def test_another_organization_sees_no_entitlement(
    api: Api, client: httpx.AsyncClient, tenant_b: Tenant
) -> None:
    await api.grant("basic", {"seats": {"max": 10}})
    other = Api(client, tenant_b)
    await other.feature()  # same codes, another organization
    body = {"entitlements": {"seats": {"max": 1}}}
    for method, path, payload in [
        ("GET", "/plans/basic/entitlements", None),
        ("POST", "/plans/basic/entitlements", body),
        ("PATCH", "/plans/basic/entitlements", body),
        ("GET", "/plans/basic/entitlements/seats", None),
        ("DELETE", "/plans/basic/entitlements/seats/privileges/max", None),
        ("DELETE", "/plans/basic/entitlements/seats", None),
    ]:
        assert (await other.error(method, path, payload, 404))["code"] == "plan_not_found"
    # With a plan of its own, b cannot grant a's feature either (its own is used).
    await other.plan()
    granted = await other.grant("basic", {"seats": {"max": 1}})
    assert granted[0]["privileges"][0]["value"] == 1
    mine = await api.ok("GET", "/plans/basic/entitlements/seats")
    assert mine["entitlement"]["privileges"][0]["value"] == 10


async def test_a_subscription_on_an_overridden_copy_has_its_parents_entitlements(
    api: Api, sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    """Lago reads `plan.parent || plan`: plan_overrides make a child copy of the plan, and
    the copy's subscriptions are entitled by the parent. (The mirror row is written here as
    the workflow's activity writes it; plan_overrides themselves are another part.)"""
    await api.grant("basic", {"seats": {"max": 10}})
    customer = await api.ok("POST", "/customers", {"customer": {"external_id": "cus_1"}})
    async with sessions() as session, session.begin():
        parent = await session.scalar(select(Plan).where(Plan.code == "basic"))
        assert parent is not None
        child = Plan(
            organization_id=tenant_a.organization_id,
            code="basic",
            name="Basic",
            interval="monthly",
            amount_cents=2000,
            amount_currency="USD",
            parent_id=parent.id,
        )
        session.add(child)
        await session.flush()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        session.add(
            Subscription(
                organization_id=tenant_a.organization_id,
                external_id="sub_1",
                customer_id=uuid.UUID(customer["customer"]["lago_id"]),
                external_customer_id="cus_1",
                plan_id=child.id,
                plan_code="basic",
                plan_amount_cents=2000,
                plan_amount_currency="USD",
                status="active",
                billing_time="calendar",
                subscription_at=start,
                started_at=start,
                workflow_id="wf-sub_1",
            )
        )
    answer = await api.ok("GET", "/subscriptions/sub_1/entitlements")
    assert [(e["code"], e["privileges"][0]["plan_value"]) for e in answer["entitlements"]] == [
        ("seats", 10)
    ]
    patched = await api.ok(
        "PATCH", "/subscriptions/sub_1/entitlements", {"entitlements": {"seats": {"max": 12}}}
    )
    assert patched["entitlements"][0]["overrides"] == {"max": 12}


async def test_concurrent_grants_of_one_feature_never_fail_with_a_server_error(api: Api) -> None:
    """Both requests create the plan's entitlement; the unique index lets one in. The other
    is answered 422 (or succeeds, if it came second), never 500."""
    bodies = [{"entitlements": {"seats": {"max": n}}} for n in (1, 2, 3, 4)]
    answers = await asyncio.gather(
        *(api.send("PATCH", "/plans/basic/entitlements", body) for body in bodies)
    )
    assert {a.status_code for a in answers} <= {200, 422}
    assert any(a.status_code == 200 for a in answers)
    for answer in answers:
        if answer.status_code == 422:
            assert answer.json()["error_details"] == {"base": ["value_already_exist"]}
    entitlements = (await api.ok("GET", "/plans/basic/entitlements"))["entitlements"]
    assert len(entitlements) == 1
    assert entitlements[0]["privileges"][0]["value"] in (1, 2, 3, 4)
