"""/api/v1/coupons and applied coupons in Lago's shapes, with Lago's rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api import coupons as coupons_api
from bxb.core.db import transaction
from bxb.models import AppliedCoupon, BillableMetric, Charge, Coupon, Plan
from tests.support.auth import Tenant

FUTURE = "2099-12-31T23:59:59Z"


async def insert_plan(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, code: str
) -> uuid.UUID:
    async with transaction(sessions) as session:
        plan = Plan(
            organization_id=tenant.organization_id,
            code=code,
            name=code,
            interval="monthly",
            amount_cents=1000,
            amount_currency="USD",
        )
        session.add(plan)
        await session.flush()
        return plan.id


async def insert_metric(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, code: str
) -> uuid.UUID:
    async with transaction(sessions) as session:
        metric = BillableMetric(
            organization_id=tenant.organization_id,
            code=code,
            name=code,
            aggregation_type="count_agg",
        )
        session.add(metric)
        await session.flush()
        return metric.id


async def create_coupon(
    client: httpx.AsyncClient, tenant: Tenant, code: str = "welcome", **fields: Any
) -> dict[str, Any]:
    body = {
        "name": "Welcome",
        "code": code,
        "coupon_type": "fixed_amount",
        "amount_cents": 1000,
        "amount_currency": "USD",
        "frequency": "once",
        "expiration": "no_expiration",
    }
    response = await client.post(
        "/api/v1/coupons", json={"coupon": body | fields}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    coupon: dict[str, Any] = response.json()["coupon"]
    return coupon


async def create_customer(
    client: httpx.AsyncClient, tenant: Tenant, external_id: str = "cus_1", **fields: Any
) -> dict[str, Any]:
    body = {"customer": {"external_id": external_id, **fields}}
    response = await client.post("/api/v1/customers", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    customer: dict[str, Any] = response.json()["customer"]
    return customer


async def apply(
    client: httpx.AsyncClient,
    tenant: Tenant,
    coupon_code: str,
    customer: str = "cus_1",
    **fields: Any,
) -> httpx.Response:
    body = {
        "applied_coupon": {"external_customer_id": customer, "coupon_code": coupon_code, **fields}
    }
    return await client.post("/api/v1/applied_coupons", json=body, headers=tenant.headers)


def z(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


# --- coupons -----------------------------------------------------------------------------


async def test_create_returns_lagos_coupon_object(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await insert_plan(sessions, tenant_a, "startup")
    await insert_plan(sessions, tenant_a, "pro")
    coupon = await create_coupon(
        client,
        tenant_a,
        "startup_deal",
        name="Startup Deal",
        description="For startups",
        coupon_type="fixed_amount",
        amount_cents=5000,
        amount_currency="EUR",
        percentage_rate="10",  # meaningless for a fixed amount: dropped
        frequency="recurring",
        frequency_duration=6,
        expiration="time_limit",
        expiration_at=FUTURE,
        reusable=False,
        applies_to={"plan_codes": ["startup", "pro"]},
    )
    async with sessions() as session:
        row = await session.scalar(select(Coupon))
    assert row is not None
    assert coupon == {
        "lago_id": str(row.id),
        "name": "Startup Deal",
        "code": "startup_deal",
        "description": "For startups",
        "coupon_type": "fixed_amount",
        "amount_cents": 5000,
        "amount_currency": "EUR",
        "percentage_rate": None,
        "frequency": "recurring",
        "frequency_duration": 6,
        "expiration": "time_limit",
        "expiration_at": FUTURE,
        "reusable": False,
        "limited_plans": True,
        "plan_codes": ["pro", "startup"],
        "limited_billable_metrics": False,
        "billable_metric_codes": [],
        "created_at": z(row.created_at),
        "terminated_at": None,
    }
    got = await client.get("/api/v1/coupons/startup_deal", headers=tenant_a.headers)
    assert got.json() == {"coupon": coupon}


async def test_percentage_coupons_take_a_string_or_a_number(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await insert_metric(sessions, tenant_a, "api_calls")
    as_string = await create_coupon(
        client,
        tenant_a,
        "ten",
        coupon_type="percentage",
        percentage_rate="10.5",
        frequency="forever",
        frequency_duration=3,  # meaningless unless recurring: dropped
        applies_to={"billable_metric_codes": ["api_calls"]},
    )
    assert as_string["percentage_rate"] == "10.5"
    assert (as_string["amount_cents"], as_string["amount_currency"]) == (None, None)
    assert as_string["frequency_duration"] is None
    assert as_string["limited_billable_metrics"] is True
    assert as_string["billable_metric_codes"] == ["api_calls"]
    as_number = await create_coupon(
        client, tenant_a, "twelve", coupon_type="percentage", percentage_rate=12.25
    )
    assert as_number["percentage_rate"] == "12.25"
    # A bare date expires at the end of that day (UTC).
    dated = await create_coupon(
        client, tenant_a, "dated", expiration="time_limit", expiration_at="2099-06-30"
    )
    assert dated["expiration_at"] == "2099-06-30T23:59:59Z"
    # Without a time limit, a date is meaningless and dropped; null is fine too.
    undated = await create_coupon(client, tenant_a, "undated", expiration_at=FUTURE)
    assert undated["expiration_at"] is None
    assert (await create_coupon(client, tenant_a, "null", expiration_at=None))["expiration"] == (
        "no_expiration"
    )


async def test_invalid_coupons_are_422_with_details(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await insert_plan(sessions, tenant_a, "startup")
    await insert_metric(sessions, tenant_a, "api_calls")
    fixed = {
        "name": "C",
        "code": "c",
        "coupon_type": "fixed_amount",
        "amount_cents": 100,
        "amount_currency": "USD",
        "frequency": "once",
        "expiration": "no_expiration",
    }
    percentage = fixed | {"coupon_type": "percentage", "percentage_rate": "5"}
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        (
            {},
            {
                "name": ["value_is_mandatory"],
                "code": ["value_is_mandatory"],
                "coupon_type": ["value_is_mandatory"],
                "frequency": ["value_is_mandatory"],
                "expiration": ["value_is_mandatory"],
            },
        ),
        (
            fixed | {"coupon_type": "gift", "frequency": "daily", "expiration": "soon"},
            {
                "coupon_type": ["value_is_invalid"],
                "frequency": ["value_is_invalid"],
                "expiration": ["value_is_invalid"],
            },
        ),
        (
            fixed | {"amount_cents": None, "amount_currency": None},
            {"amount_cents": ["value_is_mandatory"], "amount_currency": ["value_is_mandatory"]},
        ),
        (
            fixed | {"amount_cents": -5, "amount_currency": "ZZZ"},
            {"amount_cents": ["value_is_invalid"], "amount_currency": ["value_is_invalid"]},
        ),
        (fixed | {"amount_cents": "many"}, {"amount_cents": ["invalid_type"]}),
        (percentage | {"percentage_rate": None}, {"percentage_rate": ["value_is_mandatory"]}),
        (percentage | {"percentage_rate": "150"}, {"percentage_rate": ["value_is_out_of_range"]}),
        (percentage | {"percentage_rate": "1.000001"}, {"percentage_rate": ["value_is_invalid"]}),
        (percentage | {"percentage_rate": "ten"}, {"percentage_rate": ["value_is_invalid"]}),
        (fixed | {"frequency": "recurring"}, {"frequency_duration": ["value_is_mandatory"]}),
        (
            fixed | {"frequency": "recurring", "frequency_duration": 0},
            {"frequency_duration": ["value_is_invalid"]},
        ),
        (fixed | {"expiration": "time_limit"}, {"expiration_at": ["value_is_mandatory"]}),
        (
            fixed | {"expiration": "time_limit", "expiration_at": "2020-01-01T00:00:00Z"},
            {"expiration_at": ["invalid_date"]},
        ),
        (
            fixed | {"expiration": "time_limit", "expiration_at": "next week"},
            {"expiration_at": ["invalid_date"]},
        ),
        (fixed | {"expiration_at": 12}, {"expiration_at": ["invalid_date"]}),
        (
            fixed | {"applies_to": {"plan_codes": ["startup", "nope"]}},
            {"applies_to.plan_codes": ["plan_not_found"]},
        ),
        (
            fixed | {"applies_to": {"billable_metric_codes": ["nope"]}},
            {"applies_to.billable_metric_codes": ["billable_metric_not_found"]},
        ),
        (
            fixed
            | {"applies_to": {"plan_codes": ["startup"], "billable_metric_codes": ["api_calls"]}},
            {"applies_to": ["only_one_limitation_type_per_coupon_allowed"]},
        ),
        (fixed | {"reusable": "sometimes"}, {"reusable": ["invalid_type"]}),
    ]
    for coupon, details in cases:
        response = await client.post(
            "/api/v1/coupons", json={"coupon": coupon}, headers=tenant_a.headers
        )
        assert response.status_code == 422, coupon
        assert response.json() == {
            "status": 422,
            "error": "Unprocessable Entity",
            "code": "validation_errors",
            "error_details": details,
        }
    await create_coupon(client, tenant_a, "c")
    duplicate = await client.post(
        "/api/v1/coupons", json={"coupon": fixed}, headers=tenant_a.headers
    )
    assert duplicate.json()["error_details"] == {"code": ["value_already_exist"]}


async def test_update_changes_terms_and_limits(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await insert_plan(sessions, tenant_a, "startup")
    await insert_metric(sessions, tenant_a, "api_calls")
    created = await create_coupon(client, tenant_a, applies_to={"plan_codes": ["startup"]})
    await create_coupon(client, tenant_a, "other")

    put = await client.put(
        "/api/v1/coupons/welcome",
        json={
            "coupon": {
                "code": "welcome2",
                "coupon_type": "percentage",
                "percentage_rate": "15",
                "applies_to": {"plan_codes": [], "billable_metric_codes": ["api_calls"]},
            }
        },
        headers=tenant_a.headers,
    )
    assert put.status_code == 200
    assert put.json()["coupon"] == created | {
        "code": "welcome2",
        "coupon_type": "percentage",
        "percentage_rate": "15",
        "amount_cents": None,
        "amount_currency": None,
        "limited_plans": False,
        "plan_codes": [],
        "limited_billable_metrics": True,
        "billable_metric_codes": ["api_calls"],
    }
    # applies_to left out keeps the limits.
    renamed = await client.put(
        "/api/v1/coupons/welcome2", json={"coupon": {"name": "Hello"}}, headers=tenant_a.headers
    )
    assert renamed.json()["coupon"]["billable_metric_codes"] == ["api_calls"]

    errors = [
        ({"code": "other"}, {"code": ["value_already_exist"]}),
        (
            {"coupon_type": None, "name": None},
            {"name": ["value_is_mandatory"], "coupon_type": ["value_is_mandatory"]},
        ),
        (
            {"coupon_type": "fixed_amount"},
            {"amount_cents": ["value_is_mandatory"], "amount_currency": ["value_is_mandatory"]},
        ),
        (
            {"expiration": "time_limit", "expiration_at": "2001-01-01"},
            {"expiration_at": ["invalid_date"]},
        ),
        (
            {"applies_to": {"plan_codes": ["startup"]}},
            {"applies_to": ["only_one_limitation_type_per_coupon_allowed"]},
        ),
    ]
    for change, details in errors:
        response = await client.put(
            "/api/v1/coupons/welcome2", json={"coupon": change}, headers=tenant_a.headers
        )
        assert response.status_code == 422, change
        assert response.json()["error_details"] == details


async def test_an_applied_coupon_only_changes_name_and_expiration(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_coupon(client, tenant_a)
    await create_customer(client, tenant_a)
    assert (await apply(client, tenant_a, "welcome")).status_code == 200
    put = await client.put(
        "/api/v1/coupons/welcome",
        json={
            "coupon": {
                "name": "Renamed",
                "amount_cents": 1,
                "code": "changed",
                "expiration": "time_limit",
                "expiration_at": FUTURE,
            }
        },
        headers=tenant_a.headers,
    )
    coupon = put.json()["coupon"]
    assert (coupon["name"], coupon["code"], coupon["amount_cents"]) == ("Renamed", "welcome", 1000)
    assert coupon["expiration_at"] == FUTURE


async def test_delete_terminates_and_frees_the_code(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await create_coupon(client, tenant_a)
    await create_customer(client, tenant_a)
    applied = (await apply(client, tenant_a, "welcome")).json()["applied_coupon"]
    deleted = await client.delete("/api/v1/coupons/welcome", headers=tenant_a.headers)
    assert deleted.status_code == 200
    coupon = deleted.json()["coupon"]
    assert coupon["terminated_at"] is not None
    assert coupon == created | {"terminated_at": coupon["terminated_at"]}
    assert (
        await client.get("/api/v1/coupons/welcome", headers=tenant_a.headers)
    ).status_code == 404
    assert (await client.get("/api/v1/coupons", headers=tenant_a.headers)).json()["coupons"] == []
    async with sessions() as session:
        row = await session.get(Coupon, uuid.UUID(created["lago_id"]))
        applied_row = await session.get(AppliedCoupon, uuid.UUID(applied["lago_id"]))
    assert row is not None
    assert (row.status, z(row.terminated_at), z(row.deleted_at)) == (
        "terminated",
        coupon["terminated_at"],
        coupon["terminated_at"],
    )
    assert applied_row is not None
    assert applied_row.status == "terminated"
    # The applied coupon still shows, with its deleted parent.
    listed = await client.get("/api/v1/applied_coupons", headers=tenant_a.headers)
    shown = listed.json()["applied_coupons"][0]
    assert (shown["status"], shown["coupon_status"]) == ("terminated", "terminated")
    assert shown["coupon_deleted_at"] == coupon["terminated_at"]
    assert (await create_coupon(client, tenant_a))["lago_id"] != created["lago_id"]


async def test_a_code_taken_concurrently_is_value_already_exist(
    client: httpx.AsyncClient, tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_coupon(client, tenant_a)

    async def race_lost(*_: object) -> None:
        """The check passed before the other request committed."""

    monkeypatch.setattr(coupons_api, "_check_code_free", race_lost)
    response = await client.post(
        "/api/v1/coupons",
        json={
            "coupon": {
                "name": "Again",
                "code": "welcome",
                "coupon_type": "percentage",
                "percentage_rate": "1",
                "frequency": "once",
                "expiration": "no_expiration",
            }
        },
        headers=tenant_a.headers,
    )
    assert response.status_code == 422
    assert response.json()["error_details"] == {"code": ["value_already_exist"]}


async def test_unknown_coupon_is_404_and_list_is_paginated(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(
            method,
            "/api/v1/coupons/nope",
            json={"coupon": {}} if method == "PUT" else None,
            headers=tenant_a.headers,
        )
        assert response.json() == {"status": 404, "error": "Not Found", "code": "coupon_not_found"}
    for code in ("a", "b", "c"):
        await create_coupon(client, tenant_a, code)
    page = await client.get("/api/v1/coupons?per_page=2", headers=tenant_a.headers)
    assert [c["code"] for c in page.json()["coupons"]] == ["c", "b"]
    assert page.json()["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 3,
    }


async def test_organizations_never_see_each_others_coupons(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create_coupon(client, tenant_a)
    await insert_plan(sessions, tenant_a, "a_plan")
    assert (await client.get("/api/v1/coupons", headers=tenant_b.headers)).json()["coupons"] == []
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(
            method,
            "/api/v1/coupons/welcome",
            json={"coupon": {"name": "x"}} if method == "PUT" else None,
            headers=tenant_b.headers,
        )
        assert response.status_code == 404
    # B cannot limit a coupon to A's plan, nor apply A's coupon.
    foreign_plan = await client.post(
        "/api/v1/coupons",
        json={
            "coupon": {
                "name": "B",
                "code": "b",
                "coupon_type": "percentage",
                "percentage_rate": "1",
                "frequency": "once",
                "expiration": "no_expiration",
                "applies_to": {"plan_codes": ["a_plan"]},
            }
        },
        headers=tenant_b.headers,
    )
    assert foreign_plan.json()["error_details"] == {"applies_to.plan_codes": ["plan_not_found"]}
    await create_customer(client, tenant_b)
    assert (await apply(client, tenant_b, "welcome")).json()["code"] == "coupon_not_found"
    a_coupon = (await client.get("/api/v1/coupons/welcome", headers=tenant_a.headers)).json()
    assert a_coupon["coupon"]["terminated_at"] is None


# --- applied coupons ---------------------------------------------------------------------


async def test_apply_returns_lagos_applied_coupon_object(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    coupon = await create_coupon(
        client, tenant_a, expiration="time_limit", expiration_at=FUTURE, name="Welcome"
    )
    customer = await create_customer(client, tenant_a)
    assert customer["currency"] is None
    response = await apply(client, tenant_a, "welcome")
    assert response.status_code == 200
    async with sessions() as session:
        row = await session.scalar(select(AppliedCoupon))
    assert row is not None
    assert response.json() == {
        "applied_coupon": {
            "lago_id": str(row.id),
            "lago_coupon_id": coupon["lago_id"],
            "coupon_code": "welcome",
            "coupon_name": "Welcome",
            "coupon_status": "active",
            "coupon_deleted_at": None,
            "lago_customer_id": customer["lago_id"],
            "external_customer_id": "cus_1",
            "status": "active",
            "amount_cents": 1000,
            "amount_cents_remaining": 1000,
            "amount_currency": "USD",
            "percentage_rate": None,
            "frequency": "once",
            "frequency_duration": None,
            "frequency_duration_remaining": None,
            "expiration_at": FUTURE,
            "created_at": z(row.created_at),
            "terminated_at": None,
            "credits": [],
        }
    }
    # A fixed-amount coupon gives its currency to a customer that has none.
    got = await client.get("/api/v1/customers/cus_1", headers=tenant_a.headers)
    assert got.json()["customer"]["currency"] == "USD"


async def test_apply_with_overrides(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await create_coupon(client, tenant_a, "fixed")
    await create_coupon(
        client, tenant_a, "pct", coupon_type="percentage", percentage_rate="10", frequency="forever"
    )
    await create_customer(client, tenant_a, currency="EUR")
    fixed = await apply(
        client,
        tenant_a,
        "fixed",
        amount_cents=250,
        amount_currency="EUR",
        percentage_rate="50",  # not a percentage coupon: ignored
        frequency="recurring",
        frequency_duration=3,
    )
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()["applied_coupon"]
    assert (body["amount_cents"], body["amount_currency"], body["percentage_rate"]) == (
        250,
        "EUR",
        None,
    )
    assert (
        body["frequency"],
        body["frequency_duration"],
        body["frequency_duration_remaining"],
    ) == (
        "recurring",
        3,
        3,
    )
    assert body["amount_cents_remaining"] is None  # only fixed `once` coupons carry a balance
    pct = await apply(client, tenant_a, "pct", percentage_rate=12.5, amount_cents=99)
    assert pct.status_code == 200
    body = pct.json()["applied_coupon"]
    assert (body["percentage_rate"], body["amount_cents"], body["frequency"]) == (
        "12.5",
        None,
        "forever",
    )
    bad = await apply(client, tenant_a, "pct", frequency="recurring")
    assert bad.status_code == 422
    assert bad.json()["error_details"] == {"frequency_duration": ["value_is_mandatory"]}
    out_of_range = await apply(client, tenant_a, "pct", percentage_rate="101")
    assert out_of_range.json()["error_details"] == {"percentage_rate": ["value_is_out_of_range"]}


async def test_apply_rules(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a, currency="EUR")
    await create_coupon(client, tenant_a, "once_only", reusable=False, amount_currency="EUR")
    await create_coupon(client, tenant_a, "usd")

    assert (await apply(client, tenant_a, "nope")).json() == {
        "status": 404,
        "error": "Not Found",
        "code": "coupon_not_found",
    }
    assert (await apply(client, tenant_a, "usd", customer="ghost")).json()["code"] == (
        "customer_not_found"
    )
    mismatch = await apply(client, tenant_a, "usd")
    assert mismatch.status_code == 422
    assert mismatch.json()["error_details"] == {"currency": ["currencies_does_not_match"]}

    first = (await apply(client, tenant_a, "once_only")).json()["applied_coupon"]
    again = await apply(client, tenant_a, "once_only")
    assert again.status_code == 422
    assert again.json()["error_details"] == {"coupon": ["coupon_is_not_reusable"]}
    # Even after termination: not reusable means once per customer, ever.
    await client.delete(
        f"/api/v1/customers/cus_1/applied_coupons/{first['lago_id']}", headers=tenant_a.headers
    )
    assert (await apply(client, tenant_a, "once_only")).status_code == 422
    # Another customer may use it.
    await create_customer(client, tenant_a, "cus_2")
    assert (await apply(client, tenant_a, "once_only", customer="cus_2")).status_code == 200

    # An expired coupon (created valid, time has passed) cannot be applied.
    async with transaction(sessions) as session:
        session.add(
            Coupon(
                organization_id=tenant_a.organization_id,
                code="expired",
                name="Expired",
                coupon_type="percentage",
                percentage_rate=5,
                frequency="once",
                expiration="time_limit",
                expiration_at=datetime(2020, 1, 1, tzinfo=UTC),
            )
        )
    expired = await apply(client, tenant_a, "expired")
    assert expired.status_code == 422
    assert expired.json()["error_details"] == {"coupon": ["coupon_is_expired"]}

    missing = await client.post(
        "/api/v1/applied_coupons", json={"applied_coupon": {}}, headers=tenant_a.headers
    )
    assert missing.json()["error_details"] == {
        "external_customer_id": ["value_is_mandatory"],
        "coupon_code": ["value_is_mandatory"],
    }
    bad_types = await apply(client, tenant_a, "usd", amount_cents="x", frequency="weekly")
    assert bad_types.json()["error_details"] == {
        "amount_cents": ["invalid_type"],
        "frequency": ["value_is_invalid"],
    }


async def test_limited_coupons_cannot_overlap(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    plan_id = await insert_plan(sessions, tenant_a, "startup")
    metric_id = await insert_metric(sessions, tenant_a, "api_calls")
    await insert_plan(sessions, tenant_a, "other_plan")
    async with transaction(sessions) as session:
        session.add(
            Charge(
                organization_id=tenant_a.organization_id,
                plan_id=plan_id,
                billable_metric_id=metric_id,
                charge_model="standard",
            )
        )
    pct = {"coupon_type": "percentage", "percentage_rate": "5"}
    await create_coupon(client, tenant_a, "plan_1", **pct, applies_to={"plan_codes": ["startup"]})
    await create_coupon(client, tenant_a, "plan_2", **pct, applies_to={"plan_codes": ["startup"]})
    await create_coupon(
        client, tenant_a, "metric", **pct, applies_to={"billable_metric_codes": ["api_calls"]}
    )
    await create_coupon(
        client, tenant_a, "elsewhere", **pct, applies_to={"plan_codes": ["other_plan"]}
    )
    await create_coupon(client, tenant_a, "anything", **pct)
    await create_customer(client, tenant_a)

    first = (await apply(client, tenant_a, "plan_1")).json()["applied_coupon"]
    for overlapping in ("plan_2", "metric"):  # same plan; a metric that plan charges
        response = await apply(client, tenant_a, overlapping)
        assert response.status_code == 405
        assert response.json() == {
            "status": 405,
            "error": "Method Not Allowed",
            "code": "plan_overlapping",
        }
    assert (await apply(client, tenant_a, "elsewhere")).status_code == 200
    assert (await apply(client, tenant_a, "anything")).status_code == 200
    # Once the first one is terminated, the plan is free again.
    await client.delete(
        f"/api/v1/customers/cus_1/applied_coupons/{first['lago_id']}", headers=tenant_a.headers
    )
    assert (await apply(client, tenant_a, "metric")).status_code == 200


async def test_list_and_terminate_applied_coupons(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_coupon(client, tenant_a, "a")
    await create_coupon(client, tenant_a, "b")
    await create_customer(client, tenant_a, "cus_1")
    await create_customer(client, tenant_a, "cus_2")
    a1 = (await apply(client, tenant_a, "a", "cus_1")).json()["applied_coupon"]
    b1 = (await apply(client, tenant_a, "b", "cus_1")).json()["applied_coupon"]
    a2 = (await apply(client, tenant_a, "a", "cus_2")).json()["applied_coupon"]

    terminated = await client.delete(
        f"/api/v1/customers/cus_1/applied_coupons/{a1['lago_id']}", headers=tenant_a.headers
    )
    assert terminated.status_code == 200
    body = terminated.json()["applied_coupon"]
    assert body["status"] == "terminated"
    assert body == a1 | {"status": "terminated", "terminated_at": body["terminated_at"]}
    twice = await client.delete(
        f"/api/v1/customers/cus_1/applied_coupons/{a1['lago_id']}", headers=tenant_a.headers
    )
    assert twice.json() == terminated.json()

    async def ids(path: str) -> list[str]:
        response = await client.get(path, headers=tenant_a.headers)
        assert response.status_code == 200
        return [c["lago_id"] for c in response.json()["applied_coupons"]]

    assert await ids("/api/v1/applied_coupons") == [a2["lago_id"], b1["lago_id"], a1["lago_id"]]
    assert await ids("/api/v1/applied_coupons?external_customer_id=cus_1") == [
        b1["lago_id"],
        a1["lago_id"],
    ]
    assert await ids("/api/v1/applied_coupons?status=active") == [a2["lago_id"], b1["lago_id"]]
    assert await ids("/api/v1/applied_coupons?coupon_code[]=a") == [a2["lago_id"], a1["lago_id"]]
    assert await ids("/api/v1/applied_coupons?external_customer_id=ghost") == []
    assert await ids("/api/v1/customers/cus_2/applied_coupons") == [a2["lago_id"]]
    assert await ids("/api/v1/customers/cus_1/applied_coupons?status=terminated") == [a1["lago_id"]]
    page = await client.get("/api/v1/applied_coupons?per_page=1&page=3", headers=tenant_a.headers)
    assert page.json()["meta"] == {
        "current_page": 3,
        "next_page": None,
        "prev_page": 2,
        "total_pages": 3,
        "total_count": 3,
    }
    bad_status = await client.get("/api/v1/applied_coupons?status=done", headers=tenant_a.headers)
    assert bad_status.json()["error_details"] == {"status": ["value_is_invalid"]}

    not_found = {"status": 404, "error": "Not Found", "code": "applied_coupon_not_found"}
    for path in (
        f"/api/v1/customers/cus_1/applied_coupons/{a2['lago_id']}",  # another customer's
        f"/api/v1/customers/cus_1/applied_coupons/{uuid.uuid4()}",
        "/api/v1/customers/cus_1/applied_coupons/not-a-uuid",
    ):
        response = await client.delete(path, headers=tenant_a.headers)
        assert response.json() == not_found
    ghost = await client.delete(
        f"/api/v1/customers/ghost/applied_coupons/{a2['lago_id']}", headers=tenant_a.headers
    )
    assert ghost.json()["code"] == "customer_not_found"
    ghost_list = await client.get(
        "/api/v1/customers/ghost/applied_coupons", headers=tenant_a.headers
    )
    assert ghost_list.status_code == 404


async def test_deleting_a_customer_terminates_its_coupons(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_coupon(client, tenant_a)
    await create_customer(client, tenant_a)
    applied = (await apply(client, tenant_a, "welcome")).json()["applied_coupon"]
    # The currency of a live fixed-amount coupon cannot change under it.
    change = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "cus_1", "currency": "EUR"}},
        headers=tenant_a.headers,
    )
    assert change.status_code == 422
    assert change.json()["error_details"] == {"currency": ["currencies_does_not_match"]}
    await client.delete("/api/v1/customers/cus_1", headers=tenant_a.headers)
    listed = await client.get("/api/v1/applied_coupons", headers=tenant_a.headers)
    shown = listed.json()["applied_coupons"]
    assert [(c["lago_id"], c["status"]) for c in shown] == [(applied["lago_id"], "terminated")]
    assert shown[0]["external_customer_id"] == "cus_1"


async def test_organizations_never_see_each_others_applied_coupons(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await create_coupon(client, tenant_a)
    await create_customer(client, tenant_a)
    applied = (await apply(client, tenant_a, "welcome")).json()["applied_coupon"]
    await create_customer(client, tenant_b)
    assert (await apply(client, tenant_b, "welcome")).status_code == 404
    listed = await client.get("/api/v1/applied_coupons", headers=tenant_b.headers)
    assert listed.json()["applied_coupons"] == []
    by_customer = await client.get(
        "/api/v1/applied_coupons?external_customer_id=cus_1", headers=tenant_b.headers
    )
    assert by_customer.json()["applied_coupons"] == []
    # B's customer has the same external_id, but A's applied coupon is not B's.
    response = await client.delete(
        f"/api/v1/customers/cus_1/applied_coupons/{applied['lago_id']}", headers=tenant_b.headers
    )
    assert response.json()["code"] == "applied_coupon_not_found"
    still = await client.get("/api/v1/applied_coupons", headers=tenant_a.headers)
    assert still.json()["applied_coupons"][0]["status"] == "active"
