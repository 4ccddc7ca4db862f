"""/api/v1/taxes in Lago's shapes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api import taxes as taxes_api
from bxb.models import AppliedTax, Tax
from tests.support.auth import Tenant


async def create_tax(
    client: httpx.AsyncClient, tenant: Tenant, code: str = "vat", rate: Any = "20"
) -> dict[str, Any]:
    body = {"tax": {"name": f"Tax {code}", "code": code, "rate": rate}}
    response = await client.post("/api/v1/taxes", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    tax: dict[str, Any] = response.json()["tax"]
    return tax


async def test_create_returns_lagos_tax_object(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = {
        "tax": {
            "name": "TVA",
            "code": "french_standard_vat",
            "rate": "20.5",
            "description": "French standard VAT",
            "applied_to_organization": True,
        }
    }
    response = await client.post("/api/v1/taxes", json=body, headers=tenant_a.headers)
    assert response.status_code == 200
    async with sessions() as session:
        row = await session.scalar(select(Tax))
    assert row is not None
    assert row.rate == 20.5
    assert response.json() == {
        "tax": {
            "lago_id": str(row.id),
            "name": "TVA",
            "code": "french_standard_vat",
            "rate": 20.5,
            "description": "French standard VAT",
            "applied_to_organization": True,
            "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
        }
    }


async def test_rate_may_be_a_json_number(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    tax = await create_tax(client, tenant_a, rate=5.5)
    assert tax["rate"] == 5.5
    assert tax["applied_to_organization"] is False
    assert tax["description"] is None


async def test_invalid_taxes_are_422_with_details(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        (
            {},
            {
                "name": ["value_is_mandatory"],
                "code": ["value_is_mandatory"],
                "rate": ["value_is_mandatory"],
            },
        ),
        ({"name": "T", "code": "t", "rate": "-1"}, {"rate": ["value_is_out_of_range"]}),
        ({"name": "T", "code": "t", "rate": "100.1"}, {"rate": ["value_is_out_of_range"]}),
        ({"name": "T", "code": "t", "rate": "abc"}, {"rate": ["value_is_invalid"]}),
        ({"name": "T", "code": "t", "rate": "1.123456"}, {"rate": ["value_is_invalid"]}),
        ({"name": "T", "code": "t", "rate": True}, {"rate": ["value_is_invalid"]}),
        (
            {"name": 5, "code": "x" * 256, "rate": "1"},
            {"name": ["invalid_type"], "code": ["value_is_too_long"]},
        ),
        (
            {"name": "T", "code": "t", "rate": "1", "applied_to_organization": "maybe"},
            {"applied_to_organization": ["invalid_type"]},
        ),
    ]
    for tax, details in cases:
        response = await client.post("/api/v1/taxes", json={"tax": tax}, headers=tenant_a.headers)
        assert response.status_code == 422, tax
        assert response.json() == {
            "status": 422,
            "error": "Unprocessable Entity",
            "code": "validation_errors",
            "error_details": details,
        }


async def test_duplicate_code_is_value_already_exist(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_tax(client, tenant_a, "vat")
    again = await client.post(
        "/api/v1/taxes",
        json={"tax": {"name": "Again", "code": "vat", "rate": "1"}},
        headers=tenant_a.headers,
    )
    assert again.status_code == 422
    assert again.json()["error_details"] == {"code": ["value_already_exist"]}


async def test_a_code_taken_concurrently_is_value_already_exist(
    client: httpx.AsyncClient, tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_tax(client, tenant_a, "vat")

    async def race_lost(*_: object) -> None:
        """The check passed before the other request committed."""

    monkeypatch.setattr(taxes_api, "_check_code_free", race_lost)
    again = await client.post(
        "/api/v1/taxes",
        json={"tax": {"name": "Again", "code": "vat", "rate": "1"}},
        headers=tenant_a.headers,
    )
    assert again.status_code == 422
    assert again.json()["error_details"] == {"code": ["value_already_exist"]}


async def test_get_update_and_delete(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await create_tax(client, tenant_a, "vat", "20")
    await create_tax(client, tenant_a, "other", "1")
    got = await client.get("/api/v1/taxes/vat", headers=tenant_a.headers)
    assert got.json() == {"tax": created}

    put = await client.put(
        "/api/v1/taxes/vat",
        json={"tax": {"code": "vat_fr", "rate": "19.6", "description": "reduced"}},
        headers=tenant_a.headers,
    )
    assert put.status_code == 200
    assert put.json()["tax"] == created | {"code": "vat_fr", "rate": 19.6, "description": "reduced"}
    assert (await client.get("/api/v1/taxes/vat", headers=tenant_a.headers)).status_code == 404

    taken = await client.put(
        "/api/v1/taxes/vat_fr", json={"tax": {"code": "other"}}, headers=tenant_a.headers
    )
    assert taken.status_code == 422
    assert taken.json()["error_details"] == {"code": ["value_already_exist"]}
    null_name = await client.put(
        "/api/v1/taxes/vat_fr", json={"tax": {"name": None}}, headers=tenant_a.headers
    )
    assert null_name.json()["error_details"] == {"name": ["value_is_mandatory"]}

    # A tax applied to a customer disappears from it when deleted.
    customer = {"customer": {"external_id": "c1", "tax_codes": ["vat_fr"]}}
    await client.post("/api/v1/customers", json=customer, headers=tenant_a.headers)
    deleted = await client.delete("/api/v1/taxes/vat_fr", headers=tenant_a.headers)
    assert deleted.status_code == 200
    assert deleted.json()["tax"]["code"] == "vat_fr"
    assert (await client.get("/api/v1/taxes/vat_fr", headers=tenant_a.headers)).status_code == 404
    got_customer = await client.get("/api/v1/customers/c1", headers=tenant_a.headers)
    assert got_customer.json()["customer"]["taxes"] == []
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AppliedTax)) == 0
        assert await session.scalar(select(func.count()).select_from(Tax)) == 1


async def test_unknown_tax_is_404(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    not_found = {"status": 404, "error": "Not Found", "code": "tax_not_found"}
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(
            method,
            "/api/v1/taxes/nope",
            json={"tax": {"name": "x"}} if method == "PUT" else None,
            headers=tenant_a.headers,
        )
        assert response.status_code == 404
        assert response.json() == not_found


async def test_list_is_paginated_newest_first(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    for code in ("a", "b", "c"):
        await create_tax(client, tenant_a, code)
    first = await client.get("/api/v1/taxes?per_page=2", headers=tenant_a.headers)
    assert [t["code"] for t in first.json()["taxes"]] == ["c", "b"]
    assert first.json()["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 3,
    }
    second = await client.get("/api/v1/taxes?per_page=2&page=2", headers=tenant_a.headers)
    assert [t["code"] for t in second.json()["taxes"]] == ["a"]
    assert second.json()["meta"]["prev_page"] == 1


async def test_organizations_never_see_each_others_taxes(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await create_tax(client, tenant_a, "vat")
    listed = await client.get("/api/v1/taxes", headers=tenant_b.headers)
    assert listed.json()["taxes"] == []
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(
            method,
            "/api/v1/taxes/vat",
            json={"tax": {"rate": "1"}} if method == "PUT" else None,
            headers=tenant_b.headers,
        )
        assert response.status_code == 404
    # B may use the same code, and A's tax is untouched.
    b_tax = await create_tax(client, tenant_b, "vat", "7")
    a_tax = (await client.get("/api/v1/taxes/vat", headers=tenant_a.headers)).json()["tax"]
    assert a_tax["rate"] == 20.0
    assert b_tax["lago_id"] != a_tax["lago_id"]
    assert uuid.UUID(b_tax["lago_id"])
