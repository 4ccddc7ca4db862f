"""/api/v1/add_ons in Lago's shapes, with their taxes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api import add_ons as add_ons_api
from bxb.models import AddOn
from tests.support.auth import Tenant


async def create(
    client: httpx.AsyncClient, tenant: Tenant, path: str, root: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(path, json={root: body}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()[root]
    return created


async def create_add_on(
    client: httpx.AsyncClient, tenant: Tenant, code: str = "setup", **fields: Any
) -> dict[str, Any]:
    body = {"name": "Setup", "code": code, "amount_cents": 50000, "amount_currency": "USD"}
    return await create(client, tenant, "/api/v1/add_ons", "add_on", body | fields)


async def test_create_returns_lagos_add_on_object(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tax = await create(
        client, tenant_a, "/api/v1/taxes", "tax", {"name": "VAT", "code": "vat", "rate": "20"}
    )
    add_on = await create_add_on(
        client,
        tenant_a,
        invoice_display_name="Setup fee (SF1)",
        description="Implementation fee",
        tax_codes=["vat"],
    )
    async with sessions() as session:
        row = await session.scalar(select(AddOn))
    assert row is not None
    assert add_on == {
        "lago_id": str(row.id),
        "name": "Setup",
        "invoice_display_name": "Setup fee (SF1)",
        "code": "setup",
        "amount_cents": 50000,
        "amount_currency": "USD",
        "description": "Implementation fee",
        "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
        "taxes": [tax],
    }


async def test_invalid_add_ons_are_422_or_404(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    valid = {"name": "S", "code": "s", "amount_cents": 1, "amount_currency": "USD"}
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        (
            {},
            {
                "name": ["value_is_mandatory"],
                "code": ["value_is_mandatory"],
                "amount_cents": ["value_is_mandatory"],
                "amount_currency": ["value_is_mandatory"],
            },
        ),
        (valid | {"amount_cents": -1}, {"amount_cents": ["value_is_invalid"]}),
        (valid | {"amount_cents": "lots"}, {"amount_cents": ["invalid_type"]}),
        (valid | {"amount_cents": 2**63}, {"amount_cents": ["value_is_invalid"]}),
        (valid | {"amount_currency": "XXX1"}, {"amount_currency": ["value_is_invalid"]}),
        (valid | {"tax_codes": "vat"}, {"tax_codes": ["invalid_type"]}),
    ]
    for add_on, details in cases:
        response = await client.post(
            "/api/v1/add_ons", json={"add_on": add_on}, headers=tenant_a.headers
        )
        assert response.status_code == 422, add_on
        assert response.json()["error_details"] == details

    unknown_tax = await client.post(
        "/api/v1/add_ons",
        json={"add_on": valid | {"tax_codes": ["nope"]}},
        headers=tenant_a.headers,
    )
    assert unknown_tax.status_code == 404
    assert unknown_tax.json() == {"status": 404, "error": "Not Found", "code": "tax_not_found"}

    await create_add_on(client, tenant_a, "s")
    duplicate = await client.post(
        "/api/v1/add_ons", json={"add_on": valid}, headers=tenant_a.headers
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["error_details"] == {"code": ["value_already_exist"]}


async def test_a_code_taken_concurrently_is_value_already_exist(
    client: httpx.AsyncClient, tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_add_on(client, tenant_a)

    async def race_lost(*_: object) -> None:
        """The check passed before the other request committed."""

    monkeypatch.setattr(add_ons_api, "_check_code_free", race_lost)
    body = {"name": "S", "code": "setup", "amount_cents": 1, "amount_currency": "USD"}
    again = await client.post("/api/v1/add_ons", json={"add_on": body}, headers=tenant_a.headers)
    assert again.status_code == 422
    assert again.json()["error_details"] == {"code": ["value_already_exist"]}


async def test_update_changes_fields_and_replaces_taxes(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    for code in ("vat", "gst"):
        body = {"name": code, "code": code, "rate": "10"}
        await create(client, tenant_a, "/api/v1/taxes", "tax", body)
    created = await create_add_on(client, tenant_a, tax_codes=["vat"])
    await create_add_on(client, tenant_a, "other")

    put = await client.put(
        "/api/v1/add_ons/setup",
        json={"add_on": {"code": "setup2", "amount_cents": 100, "tax_codes": ["gst", "vat"]}},
        headers=tenant_a.headers,
    )
    assert put.status_code == 200
    updated = put.json()["add_on"]
    assert updated["lago_id"] == created["lago_id"]
    assert (updated["code"], updated["amount_cents"]) == ("setup2", 100)
    assert [t["code"] for t in updated["taxes"]] == ["gst", "vat"]

    # Without tax_codes the taxes stay; an empty list removes them.
    kept = await client.put(
        "/api/v1/add_ons/setup2", json={"add_on": {"name": "Renamed"}}, headers=tenant_a.headers
    )
    assert [t["code"] for t in kept.json()["add_on"]["taxes"]] == ["gst", "vat"]
    cleared = await client.put(
        "/api/v1/add_ons/setup2", json={"add_on": {"tax_codes": []}}, headers=tenant_a.headers
    )
    assert cleared.json()["add_on"]["taxes"] == []

    taken = await client.put(
        "/api/v1/add_ons/setup2", json={"add_on": {"code": "other"}}, headers=tenant_a.headers
    )
    assert taken.status_code == 422
    assert taken.json()["error_details"] == {"code": ["value_already_exist"]}
    nulls = await client.put(
        "/api/v1/add_ons/setup2",
        json={"add_on": {"amount_cents": None, "amount_currency": None}},
        headers=tenant_a.headers,
    )
    assert nulls.json()["error_details"] == {
        "amount_cents": ["value_is_mandatory"],
        "amount_currency": ["value_is_mandatory"],
    }
    unknown_tax = await client.put(
        "/api/v1/add_ons/setup2", json={"add_on": {"tax_codes": ["x"]}}, headers=tenant_a.headers
    )
    assert unknown_tax.status_code == 404


async def test_delete_soft_deletes_and_frees_the_code(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await create_add_on(client, tenant_a)
    deleted = await client.delete("/api/v1/add_ons/setup", headers=tenant_a.headers)
    assert deleted.status_code == 200
    assert deleted.json() == {"add_on": created}
    assert (await client.get("/api/v1/add_ons/setup", headers=tenant_a.headers)).status_code == 404
    assert (await client.get("/api/v1/add_ons", headers=tenant_a.headers)).json()["add_ons"] == []
    again = await create_add_on(client, tenant_a)
    assert again["lago_id"] != created["lago_id"]
    async with sessions() as session:
        rows = (await session.scalars(select(AddOn).order_by(AddOn.created_at))).all()
    assert [row.deleted_at is not None for row in rows] == [True, False]


async def test_unknown_add_on_is_404(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(
            method,
            "/api/v1/add_ons/nope",
            json={"add_on": {}} if method == "PUT" else None,
            headers=tenant_a.headers,
        )
        assert response.status_code == 404
        assert response.json() == {"status": 404, "error": "Not Found", "code": "add_on_not_found"}


async def test_list_is_paginated(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    for code in ("a", "b", "c"):
        await create_add_on(client, tenant_a, code)
    page = await client.get("/api/v1/add_ons?per_page=2&page=2", headers=tenant_a.headers)
    assert [a["code"] for a in page.json()["add_ons"]] == ["a"]
    assert page.json()["meta"] == {
        "current_page": 2,
        "next_page": None,
        "prev_page": 1,
        "total_pages": 2,
        "total_count": 3,
    }


async def test_organizations_never_see_each_others_add_ons(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await create_add_on(client, tenant_a)
    assert (await client.get("/api/v1/add_ons", headers=tenant_b.headers)).json()["add_ons"] == []
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(
            method,
            "/api/v1/add_ons/setup",
            json={"add_on": {"amount_cents": 1}} if method == "PUT" else None,
            headers=tenant_b.headers,
        )
        assert response.status_code == 404
    # A's taxes cannot be applied with B's key.
    await create(client, tenant_a, "/api/v1/taxes", "tax", {"name": "V", "code": "vat", "rate": 1})
    foreign_tax = await client.post(
        "/api/v1/add_ons",
        json={
            "add_on": {
                "name": "x",
                "code": "x",
                "amount_cents": 1,
                "amount_currency": "EUR",
                "tax_codes": ["vat"],
            }
        },
        headers=tenant_b.headers,
    )
    assert foreign_tax.status_code == 404
    a_add_on = (await client.get("/api/v1/add_ons/setup", headers=tenant_a.headers)).json()
    assert a_add_on["add_on"]["amount_cents"] == 50000
