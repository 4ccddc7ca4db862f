"""/api/v1/billable_metrics: Lago's BillableMetricObject, validation, isolation."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Charge, ChargeFilter
from tests.support.auth import Tenant

URL = "/api/v1/billable_metrics"


def storage_metric(**overrides: Any) -> dict[str, Any]:
    metric: dict[str, Any] = {
        "name": "Storage",
        "code": "storage",
        "description": "GB stored",
        "aggregation_type": "sum_agg",
        "field_name": "gb",
        "recurring": True,
        "rounding_function": "round",
        "rounding_precision": 2,
        "expression": "round(event.properties.gb * 1.5)",
        "filters": [
            {"key": "region", "values": ["us", "eu", "eu"]},
            {"key": "cloud", "values": ["aws"]},
        ],
    }
    return metric | overrides


async def create(client: httpx.AsyncClient, tenant: Tenant, **overrides: Any) -> httpx.Response:
    return await client.post(
        URL, json={"billable_metric": storage_metric(**overrides)}, headers=tenant.headers
    )


async def test_create_returns_the_full_object(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    response = await create(client, tenant_a)
    assert response.status_code == 200
    body = response.json()["billable_metric"]
    assert body == {
        "lago_id": body["lago_id"],
        "name": "Storage",
        "code": "storage",
        "description": "GB stored",
        "aggregation_type": "sum_agg",
        "weighted_interval": None,
        "recurring": True,
        "rounding_function": "round",
        "rounding_precision": 2,
        "created_at": body["created_at"],
        "field_name": "gb",
        "expression": "round(event.properties.gb * 1.5)",
        # Sorted by key; repeated values dropped.
        "filters": [{"key": "cloud", "values": ["aws"]}, {"key": "region", "values": ["us", "eu"]}],
    }
    assert body["created_at"].endswith("Z")
    fetched = await client.get(f"{URL}/storage", headers=tenant_a.headers)
    assert fetched.status_code == 200
    assert fetched.json() == {"billable_metric": body}


async def test_count_needs_no_field_and_weighted_sum_defaults_to_seconds(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    count = await client.post(
        URL,
        json={
            "billable_metric": {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
        },
        headers=tenant_a.headers,
    )
    assert count.status_code == 200
    assert count.json()["billable_metric"]["field_name"] is None
    assert count.json()["billable_metric"]["recurring"] is False
    assert count.json()["billable_metric"]["filters"] == []
    seats = await create(
        client,
        tenant_a,
        code="seats",
        aggregation_type="weighted_sum_agg",
        field_name="seats",
        filters=[],
    )
    assert seats.status_code == 200
    assert seats.json()["billable_metric"]["weighted_interval"] == "seconds"
    assert seats.json()["billable_metric"]["recurring"] is True
    # weighted_interval belongs to weighted sums only.
    other = await create(client, tenant_a, code="gb", weighted_interval="seconds")
    assert other.json()["billable_metric"]["weighted_interval"] is None


async def test_validation_errors(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        ({"aggregation_type": "avg_agg"}, {"aggregation_type": ["value_is_invalid"]}),
        ({"field_name": None}, {"field_name": ["value_is_mandatory"]}),
        (
            {"aggregation_type": "max_agg"},
            {"recurring": ["not_compatible_with_aggregation_type"]},
        ),
        (
            {"aggregation_type": "latest_agg", "recurring": True},
            {"recurring": ["not_compatible_with_aggregation_type"]},
        ),
        ({"name": "  "}, {"name": ["value_is_mandatory"]}),
        ({"code": "x" * 256}, {"code": ["value_is_too_long"]}),
        ({"recurring": "often"}, {"recurring": ["invalid_type"]}),
        ({"weighted_interval": "hours"}, {"weighted_interval": ["value_is_invalid"]}),
        ({"rounding_function": "up"}, {"rounding_function": ["value_is_invalid"]}),
        ({"description": "a\x00b"}, {"description": ["invalid_characters"]}),
        (
            {"filters": [{"key": "region", "values": ["eu"]}, {"key": "region", "values": ["us"]}]},
            {"filters.1.key": ["value_already_exist"]},
        ),
        (
            {"filters": [{"key": "region", "values": []}]},
            {"filters.0.values": ["value_is_invalid"]},
        ),
        ({"filters": [{"values": ["eu"]}]}, {"filters.0.key": ["value_is_mandatory"]}),
    ]
    for overrides, details in cases:
        response = await create(client, tenant_a, **overrides)
        assert response.status_code == 422, overrides
        assert response.json() == {
            "status": 422,
            "error": "Unprocessable Entity",
            "code": "validation_errors",
            "error_details": details,
        }, overrides
    missing = await client.post(URL, json={"billable_metric": {}}, headers=tenant_a.headers)
    assert missing.json()["error_details"] == {
        "name": ["value_is_mandatory"],
        "code": ["value_is_mandatory"],
        "aggregation_type": ["value_is_mandatory"],
    }
    listed = await client.get(URL, headers=tenant_a.headers)
    assert listed.json()["billable_metrics"] == []


async def test_taken_code_is_rejected_until_the_metric_is_deleted(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    assert (await create(client, tenant_a)).status_code == 200
    taken = await create(client, tenant_a)
    assert taken.status_code == 422
    assert taken.json()["error_details"] == {"code": ["value_already_exist"]}
    deleted = await client.delete(f"{URL}/storage", headers=tenant_a.headers)
    assert deleted.status_code == 200
    assert deleted.json()["billable_metric"]["code"] == "storage"
    assert (await client.get(f"{URL}/storage", headers=tenant_a.headers)).status_code == 404
    again = await create(client, tenant_a)
    assert again.status_code == 200


async def test_update_changes_fields_and_replaces_filters(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    created = (await create(client, tenant_a)).json()["billable_metric"]
    response = await client.put(
        f"{URL}/storage",
        json={
            "billable_metric": {
                "name": "Disk",
                "code": "disk",
                "description": None,
                "aggregation_type": "unique_count_agg",
                "field_name": "volume_id",
                "filters": [{"key": "region", "values": ["ap"]}],
            }
        },
        headers=tenant_a.headers,
    )
    assert response.status_code == 200
    body = response.json()["billable_metric"]
    assert body == created | {
        "name": "Disk",
        "code": "disk",
        "description": None,
        "aggregation_type": "unique_count_agg",
        "field_name": "volume_id",
        "filters": [{"key": "region", "values": ["ap"]}],
    }
    assert (await client.get(f"{URL}/storage", headers=tenant_a.headers)).status_code == 404
    assert (await client.get(f"{URL}/disk", headers=tenant_a.headers)).json() == {
        "billable_metric": body
    }
    # Absent fields (and filters) stay; a required field cannot be nulled.
    kept = await client.put(f"{URL}/disk", json={"billable_metric": {}}, headers=tenant_a.headers)
    assert kept.json()["billable_metric"] == body
    nulled = await client.put(
        f"{URL}/disk", json={"billable_metric": {"name": None}}, headers=tenant_a.headers
    )
    assert nulled.status_code == 422
    assert nulled.json()["error_details"] == {"name": ["value_is_mandatory"]}
    cleared = await client.put(
        f"{URL}/disk", json={"billable_metric": {"filters": []}}, headers=tenant_a.headers
    )
    assert cleared.json()["billable_metric"]["filters"] == []


async def test_update_validates_the_result(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await create(client, tenant_a)
    await create(client, tenant_a, code="other")
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        ({"aggregation_type": "max_agg"}, {"recurring": ["not_compatible_with_aggregation_type"]}),
        ({"field_name": None}, {"field_name": ["value_is_mandatory"]}),
        ({"code": "other"}, {"code": ["value_already_exist"]}),
    ]
    for change, details in cases:
        response = await client.put(
            f"{URL}/storage", json={"billable_metric": change}, headers=tenant_a.headers
        )
        assert response.status_code == 422, change
        assert response.json()["error_details"] == details
    unchanged = await client.get(f"{URL}/storage", headers=tenant_a.headers)
    assert unchanged.json()["billable_metric"]["aggregation_type"] == "sum_agg"
    to_count = await client.put(
        f"{URL}/storage",
        json={"billable_metric": {"aggregation_type": "count_agg", "recurring": False}},
        headers=tenant_a.headers,
    )
    assert to_count.status_code == 200
    missing = await client.put(
        f"{URL}/nope", json={"billable_metric": {}}, headers=tenant_a.headers
    )
    assert missing.status_code == 404
    assert missing.json() == {
        "status": 404,
        "error": "Not Found",
        "code": "billable_metric_not_found",
    }


async def test_unknown_codes_are_404(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"{URL}/nope", headers=tenant_a.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "billable_metric_not_found"


async def test_list_is_paginated_newest_first(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    for index in range(3):
        assert (await create(client, tenant_a, code=f"m{index}")).status_code == 200
    first = await client.get(URL, params={"per_page": 2}, headers=tenant_a.headers)
    assert [m["code"] for m in first.json()["billable_metrics"]] == ["m2", "m1"]
    assert first.json()["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 3,
    }
    second = await client.get(URL, params={"per_page": 2, "page": 2}, headers=tenant_a.headers)
    assert [m["code"] for m in second.json()["billable_metrics"]] == ["m0"]
    assert second.json()["meta"]["prev_page"] == 1


async def test_organizations_are_isolated(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await create(client, tenant_a)
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"{URL}/storage", headers=tenant_b.headers)
        assert response.status_code == 404
    put = await client.put(
        f"{URL}/storage", json={"billable_metric": {"name": "x"}}, headers=tenant_b.headers
    )
    assert put.status_code == 404
    assert (await client.get(URL, headers=tenant_b.headers)).json()["billable_metrics"] == []
    # B may use the same code: codes are unique per organization.
    assert (await create(client, tenant_b)).status_code == 200
    mine = await client.get(f"{URL}/storage", headers=tenant_a.headers)
    assert mine.json()["billable_metric"]["name"] == "Storage"


async def _plan_with_filtered_charge(client: httpx.AsyncClient, tenant: Tenant) -> str:
    metric = (await create(client, tenant)).json()["billable_metric"]
    charge = {
        "billable_metric_id": metric["lago_id"],
        "charge_model": "standard",
        "properties": {"amount": "1"},
        "filters": [
            {"properties": {"amount": "2"}, "values": {"region": ["eu", "us"]}},
            {"properties": {"amount": "3"}, "values": {"region": ["us"], "cloud": ["aws"]}},
        ],
    }
    plan = {
        "name": "P",
        "code": "p",
        "interval": "monthly",
        "amount_cents": 0,
        "amount_currency": "EUR",
        "charges": [charge],
    }
    response = await client.post("/api/v1/plans", json={"plan": plan}, headers=tenant.headers)
    assert response.status_code == 200
    return str(metric["lago_id"])


async def test_removed_filter_values_leave_charge_filters(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await _plan_with_filtered_charge(client, tenant_a)
    response = await client.put(
        f"{URL}/storage",
        json={"billable_metric": {"filters": [{"key": "region", "values": ["us", "eu", "ap"]}]}},
        headers=tenant_a.headers,
    )
    assert response.status_code == 200
    plan = (await client.get("/api/v1/plans/p", headers=tenant_a.headers)).json()["plan"]
    # The first filter is untouched; the second lost its "cloud" key entirely.
    assert plan["charges"][0]["filters"] == [
        {
            "invoice_display_name": None,
            "properties": {"amount": "2"},
            "values": {"region": ["eu", "us"]},
        }
    ]
    response = await client.put(
        f"{URL}/storage",
        json={"billable_metric": {"filters": [{"key": "region", "values": ["eu"]}]}},
        headers=tenant_a.headers,
    )
    plan = (await client.get("/api/v1/plans/p", headers=tenant_a.headers)).json()["plan"]
    # "us" is no longer a value of the metric, so the filter keeps only "eu".
    assert plan["charges"][0]["filters"][0]["values"] == {"region": ["eu"]}


async def test_delete_soft_deletes_the_charges_using_it(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _plan_with_filtered_charge(client, tenant_a)
    assert (await client.delete(f"{URL}/storage", headers=tenant_a.headers)).status_code == 200
    plan = (await client.get("/api/v1/plans/p", headers=tenant_a.headers)).json()["plan"]
    assert plan["charges"] == []
    async with sessions() as session:
        charges = (await session.scalars(select(Charge))).all()
        assert len(charges) == 1
        assert charges[0].deleted_at is not None  # kept for invoices that point at it
        assert len((await session.scalars(select(ChargeFilter))).all()) == 2
