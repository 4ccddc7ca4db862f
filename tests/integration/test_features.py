"""/api/v1/features: features with integer, boolean, string and select privileges, in
Lago's shapes and with Lago's errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Feature, Privilege
from tests.support.auth import Tenant
from tests.support.entitlements import Api

SEATS_PRIVILEGES = [
    {"code": "max", "name": "Maximum", "value_type": "integer", "config": {}},
    {"code": "root", "name": "Allow root user", "value_type": "boolean", "config": {}},
    {"code": "label", "name": None, "value_type": "string", "config": {}},
    {
        "code": "provider",
        "name": "SSO Provider",
        "value_type": "select",
        "config": {"select_options": ["google", "okta"]},
    },
]


async def test_a_feature_is_created_read_and_listed_in_lagos_shape(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    api = Api(client, tenant_a)
    created = await api.feature()
    async with sessions() as session:
        row = await session.scalar(select(Feature))
    assert row is not None
    assert created == {
        "code": "seats",
        "name": "Number of seats",
        "description": "Users of the account",
        "privileges": SEATS_PRIVILEGES,
        "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert (await api.ok("GET", "/features/seats"))["feature"] == created
    await api.feature({"code": "sso", "name": "Single sign-on"})
    await api.feature({"code": "api", "description": "Calls to the SSO-less API"})

    listed = await api.ok("GET", "/features?per_page=2")
    assert [f["code"] for f in listed["features"]] == ["api", "sso"]  # newest first
    assert listed["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 3,
    }
    assert listed["features"][1]["privileges"] == []
    found = await api.ok("GET", "/features?search_term=sso")  # name, code and description
    assert sorted(f["code"] for f in found["features"]) == ["api", "sso"]
    assert (await api.ok("GET", "/features?search_term=seats"))["features"] == [created]
    assert (await api.ok("GET", "/features?search_term=%25"))["features"] == []


@pytest.mark.parametrize(
    ("feature", "details"),
    [
        ({"name": "No code"}, {"code": ["value_is_mandatory"]}),
        ({"code": " "}, {"code": ["value_is_mandatory"]}),
        ({"code": "f", "privileges": [{"code": 5}]}, {"privilege.code": ["value_is_invalid"]}),
        (
            {"code": "f", "privileges": [{"code": "p", "name": "n" * 256}]},
            {"privilege.name": ["value_is_too_long"]},
        ),
        ({"code": "f", "privileges": {"code": "p"}}, {"privileges": ["invalid_type"]}),
        ({"code": "x" * 256}, {"code": ["value_is_too_long"]}),
        ({"code": "f", "description": "d" * 601}, {"description": ["value_is_too_long"]}),
        (
            {"code": "f", "privileges": [{"code": "max"}, {"code": "max"}]},
            {"privilege.code": ["value_is_duplicated"]},
        ),
        (
            {"code": "f", "privileges": [{"code": "max"}, {"code": " max "}]},
            {"privilege.code": ["value_is_duplicated"]},
        ),
        (
            {"code": "f", "privileges": [{"code": "max", "value_type": "float"}]},
            {"privilege.value_type": ["value_is_invalid"]},
        ),
        ({"code": "f", "privileges": [{"code": " "}]}, {"privilege.code": ["value_is_mandatory"]}),
        ({"code": "f", "privileges": [{"name": "x"}]}, {"privilege.code": ["value_is_mandatory"]}),
        (
            {"code": "f", "privileges": [{"code": "p", "value_type": "select"}]},
            {"privilege.config": ["invalid_format"]},
        ),
        (
            {
                "code": "f",
                "privileges": [
                    {"code": "p", "value_type": "select", "config": {"select_options": []}}
                ],
            },
            {"privilege.config": ["invalid_format"]},
        ),
        (
            {
                "code": "f",
                "privileges": [
                    {"code": "p", "value_type": "select", "config": {"select_options": [1]}}
                ],
            },
            {"privilege.config": ["invalid_format"]},
        ),
        (
            {
                "code": "f",
                "privileges": [
                    {"code": "p", "value_type": "integer", "config": {"select_options": ["a"]}}
                ],
            },
            {"privilege.config": ["invalid_format"]},
        ),
    ],
)
async def test_bad_features_get_lagos_422(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    feature: dict[str, Any],
    details: dict[str, list[str]],
) -> None:
    body = await Api(client, tenant_a).error("POST", "/features", {"feature": feature}, 422)
    assert body == {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": details,
    }
    async with sessions() as session:
        assert (await session.scalars(select(Feature))).all() == []
        assert (await session.scalars(select(Privilege))).all() == []


async def test_a_code_is_unique_until_its_feature_is_deleted(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    api = Api(client, tenant_a)
    await api.feature()
    taken = await api.error("POST", "/features", {"feature": {"code": "seats"}}, 422)
    assert taken["error_details"] == {"code": ["value_already_exist"]}
    await Api(client, tenant_b).feature()  # codes are per organization
    deleted = await api.ok("DELETE", "/features/seats")
    assert deleted["feature"]["code"] == "seats"
    assert deleted["feature"]["privileges"] == SEATS_PRIVILEGES
    await api.error("GET", "/features/seats", None, 404)
    again = await api.feature({"code": "seats"})
    assert again["privileges"] == []


async def test_an_update_renames_adds_privileges_and_extends_select_options(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    api = Api(client, tenant_a)
    await api.feature()
    body = {
        "feature": {
            "description": None,
            "privileges": [
                {"code": "max", "name": "Max.", "value_type": "string"},  # type never changes
                {"code": "provider", "config": {"select_options": ["okta", "azure"]}},
                {"code": "region", "value_type": "select", "config": {"select_options": ["eu"]}},
            ],
        }
    }
    updated = (await api.ok("PUT", "/features/seats", body))["feature"]
    assert updated["name"] == "Number of seats"  # not sent: unchanged
    assert updated["description"] is None
    assert updated["privileges"] == [
        {"code": "max", "name": "Max.", "value_type": "integer", "config": {}},
        SEATS_PRIVILEGES[1],
        SEATS_PRIVILEGES[2],
        {
            "code": "provider",
            "name": "SSO Provider",
            "value_type": "select",
            "config": {"select_options": ["google", "okta", "azure"]},
        },
        {
            "code": "region",
            "name": None,
            "value_type": "select",
            "config": {"select_options": ["eu"]},
        },
    ]
    duplicated = {"feature": {"privileges": [{"code": "a"}, {"code": "a"}]}}
    error = await api.error("PUT", "/features/seats", duplicated, 422)
    assert error["error_details"] == {"privilege.code": ["value_is_duplicated"]}
    options_on_integer = {
        "feature": {"privileges": [{"code": "max", "config": {"select_options": ["x"]}}]}
    }
    error = await api.error("PUT", "/features/seats", options_on_integer, 422)
    assert error["error_details"] == {"privilege.config": ["invalid_format"]}
    not_a_list = {
        "feature": {"privileges": [{"code": "provider", "config": {"select_options": "okta"}}]}
    }
    error = await api.error("PUT", "/features/seats", not_a_list, 422)
    assert error["error_details"] == {"privilege.config": ["invalid_format"]}
    assert (await api.ok("GET", "/features/seats"))["feature"]["privileges"] == updated[
        "privileges"
    ]


async def test_deleting_a_privilege_or_feature_removes_it_from_plans(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    """Lago: a deleted privilege leaves every plan and subscription; so does a feature."""
    api = Api(client, tenant_a)
    await api.feature()
    await api.plan()
    await api.grant("basic", {"seats": {"max": 10, "root": True}})
    without = await api.ok("DELETE", "/features/seats/privileges/root")
    assert [p["code"] for p in without["feature"]["privileges"]] == ["max", "label", "provider"]
    entitlement = (await api.ok("GET", "/plans/basic/entitlements/seats"))["entitlement"]
    assert [(p["code"], p["value"]) for p in entitlement["privileges"]] == [("max", 10)]
    missing = await api.error("DELETE", "/features/seats/privileges/root", None, 404)
    assert missing == {"status": 404, "error": "Not Found", "code": "privilege_not_found"}

    await api.ok("DELETE", "/features/seats")
    assert await api.ok("GET", "/plans/basic/entitlements") == {"entitlements": []}
    await api.feature()  # the code is free again, and the new feature is not on the plan
    assert await api.ok("GET", "/plans/basic/entitlements") == {"entitlements": []}


async def test_another_organization_sees_no_feature(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await Api(client, tenant_a).feature()
    other = Api(client, tenant_b)
    assert (await other.ok("GET", "/features"))["features"] == []
    for method, path, body in [
        ("GET", "/features/seats", None),
        ("PUT", "/features/seats", {"feature": {"name": "Mine"}}),
        ("DELETE", "/features/seats/privileges/max", None),
        ("DELETE", "/features/seats", None),
    ]:
        answer = await other.error(method, path, body, 404)
        assert answer["code"] == "feature_not_found"
    mine = (await Api(client, tenant_a).ok("GET", "/features/seats"))["feature"]
    assert mine["name"] == "Number of seats"
    assert len(mine["privileges"]) == 4
