"""POST /api/v1/invoices: one-off invoices of add-ons, finalized and numbered at once."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from bxb.models import Fee, Invoice
from tests.integration.test_invoices import Sessions
from tests.support.auth import Tenant


async def ok(client: httpx.AsyncClient, tenant: Tenant, path: str, body: Any) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def catalog(client: httpx.AsyncClient, tenant: Tenant, **customer: Any) -> None:
    """Taxes (org default 10 %, vat 20 %, low 5 %), add-ons, and customer cus_1 in USD."""
    for code, rate, default in (("org_tax", 10, True), ("vat", 20, False), ("low", 5, False)):
        tax = {"name": code, "code": code, "rate": str(rate), "applied_to_organization": default}
        await ok(client, tenant, "/api/v1/taxes", {"tax": tax})
    for code, amount, currency, taxes in (
        ("setup", 1000, "USD", []),
        ("training", 333, "USD", ["vat"]),
        ("euro_thing", 500, "EUR", []),
    ):
        add_on = {
            "name": code.title(),
            "code": code,
            "amount_cents": amount,
            "amount_currency": currency,
            "description": f"{code} description",
            "tax_codes": taxes,
        }
        await ok(client, tenant, "/api/v1/add_ons", {"add_on": add_on})
    body = {"external_id": "cus_1", "name": "Acme", "currency": "USD"} | customer
    await ok(client, tenant, "/api/v1/customers", {"customer": body})


async def create(
    client: httpx.AsyncClient, tenant: Tenant, fees: list[dict[str, Any]], **invoice: Any
) -> httpx.Response:
    body = {"invoice": {"external_customer_id": "cus_1", "fees": fees} | invoice}
    return await client.post("/api/v1/invoices", json=body, headers=tenant.headers)


async def test_one_off_invoice_is_priced_taxed_and_numbered(
    client: httpx.AsyncClient, sessions: Sessions, tenant_a: Tenant
) -> None:
    await catalog(client, tenant_a, net_payment_term=15)

    response = await create(
        client,
        tenant_a,
        [
            {"add_on_code": "setup", "units": 2},  # 2 × 10.00, org tax 10 %
            # 3.33 × 2.5 = 8.325 → 8.33, rounded once; add-on's own tax 20 %
            {"add_on_code": "training", "units": "2.5", "description": "Onsite"},
            # explicit unit amount and tax codes win over the add-on's
            {
                "add_on_code": "training",
                "unit_amount_cents": 1999,
                "tax_codes": ["low"],
                "invoice_display_name": "Workshop",
            },
        ],
        currency="USD",
    )

    assert response.status_code == 200, response.text
    invoice = response.json()["invoice"]
    today = datetime.now(ZoneInfo("UTC")).date()
    assert (invoice["invoice_type"], invoice["status"]) == ("one_off", "finalized")
    assert invoice["payment_status"] == "pending"
    assert invoice["sequential_id"] == 1
    assert invoice["number"].endswith("-000001")
    assert invoice["issuing_date"] == today.isoformat()
    assert invoice["net_payment_term"] == 15
    assert invoice["payment_due_date"] == (today + timedelta(days=15)).isoformat()
    fees = invoice["fees"]
    assert [(f["amount_cents"], f["units"], f["taxes_amount_cents"]) for f in fees] == [
        (2000, "2", 200),
        (833, "2.5", 167),
        (1999, "1", 100),
    ]
    assert [f["item"]["invoice_display_name"] for f in fees] == ["Setup", "Training", "Workshop"]
    assert [f["description"] for f in fees] == [
        "setup description",
        "Onsite",
        "training description",
    ]
    assert [f["item"]["type"] for f in fees] == ["add_on"] * 3
    assert fees[1]["item"]["code"] == "training"
    assert fees[1]["item"]["item_type"] == "AddOn"
    assert fees[1]["precise_amount"] == "8.325"
    assert fees[1]["amount_details"] == {"unit_amount_cents": 333}
    assert (invoice["fees_amount_cents"], invoice["taxes_amount_cents"]) == (4832, 467)
    assert invoice["coupons_amount_cents"] == 0
    assert (invoice["total_amount_cents"], invoice["total_due_amount_cents"]) == (5299, 5299)
    taxes = {
        t["tax_code"]: (t["amount_cents"], t["fees_amount_cents"]) for t in invoice["applied_taxes"]
    }
    assert taxes == {"org_tax": (200, 2000), "vat": (167, 833), "low": (100, 1999)}

    async with sessions() as session:
        stored = await session.get(Invoice, uuid.UUID(invoice["lago_id"]))
        assert stored is not None
        assert stored.kind == "one_off"
        rows = list(await session.scalars(select(Fee).where(Fee.invoice_id == stored.id)))
        assert sorted(r.fee_type for r in rows) == ["add_on"] * 3
        assert all(r.add_on_id is not None for r in rows)

    second = await create(client, tenant_a, [{"add_on_code": "setup"}])
    assert second.json()["invoice"]["sequential_id"] == 2
    listed = await client.get("/api/v1/invoices?invoice_type=one_off", headers=tenant_a.headers)
    assert listed.json()["meta"]["total_count"] == 2


async def test_customer_taxes_apply_when_the_add_on_has_none(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await catalog(client, tenant_a, tax_codes=["low"])
    response = await create(client, tenant_a, [{"add_on_code": "setup"}])
    invoice = response.json()["invoice"]
    assert (invoice["taxes_amount_cents"], invoice["total_amount_cents"]) == (50, 1050)


async def test_zero_total_is_paid_at_once(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await catalog(client, tenant_a)
    response = await create(client, tenant_a, [{"add_on_code": "setup", "unit_amount_cents": 0}])
    invoice = response.json()["invoice"]
    assert (invoice["total_amount_cents"], invoice["payment_status"]) == (0, "succeeded")


async def test_issuing_date_follows_the_test_clock_in_the_customer_timezone(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    clock = await ok(
        client,
        tenant_a,
        "/api/v1/test_clocks",
        {"test_clock": {"name": "c", "frozen_time": "2030-06-01T02:00:00Z"}},
    )
    await catalog(
        client,
        tenant_a,
        test_clock_id=clock["test_clock"]["lago_id"],
        timezone="America/New_York",
    )
    response = await create(client, tenant_a, [{"add_on_code": "setup"}])
    assert response.json()["invoice"]["issuing_date"] == date(2030, 5, 31).isoformat()


async def test_first_invoice_sets_the_customer_currency(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await catalog(client, tenant_a)
    await ok(client, tenant_a, "/api/v1/customers", {"customer": {"external_id": "cus_new"}})
    body = {"invoice": {"external_customer_id": "cus_new", "fees": [{"add_on_code": "euro_thing"}]}}
    invoice = (await ok(client, tenant_a, "/api/v1/invoices", body))["invoice"]
    assert (invoice["currency"], invoice["total_amount_cents"]) == ("EUR", 550)
    customer = await client.get("/api/v1/customers/cus_new", headers=tenant_a.headers)
    assert customer.json()["customer"]["currency"] == "EUR"


@pytest.mark.parametrize(
    ("fees", "extra", "status", "expected"),
    [
        ([{"add_on_code": "nope"}], {}, 404, {"code": "add_on_not_found"}),
        ([{"add_on_code": "setup", "tax_codes": ["nope"]}], {}, 404, {"code": "tax_not_found"}),
        (
            [{"add_on_code": "setup"}],
            {"external_customer_id": "nobody"},
            404,
            {"code": "customer_not_found"},
        ),
        (
            [{"add_on_code": "setup"}],
            {"currency": "EUR"},
            422,
            {"error_details": {"currency": ["currencies_does_not_match"]}},
        ),
        (
            [{"add_on_code": "euro_thing"}],
            {},
            422,
            {"error_details": {"currency": ["currencies_does_not_match"]}},
        ),
        ([], {}, 422, {"error_details": {"fees": ["value_is_mandatory"]}}),
        (
            [{"add_on_code": "setup", "units": "-1"}],
            {},
            422,
            {"error_details": {"fees.0.units": ["value_is_invalid"]}},
        ),
        (
            [{"add_on_code": "setup", "units": "lots"}],
            {},
            422,
            {"error_details": {"fees.0.units": ["value_is_invalid"]}},
        ),
        (
            [{"add_on_code": "setup", "unit_amount_cents": "ten"}],
            {},
            422,
            {"error_details": {"fees.0.unit_amount_cents": ["invalid_type"]}},
        ),
        (
            [{"units": 1}],
            {},
            422,
            {"error_details": {"fees.0.add_on_code": ["value_is_mandatory"]}},
        ),
        (
            [{"add_on_code": "setup", "unit_amount_cents": 10**15, "units": "1000000"}],
            {},
            422,
            {"error_details": {"amount_cents": ["value_is_out_of_range"]}},
        ),
        (
            [{"add_on_code": "setup"}],
            {"currency": "ZZZ"},
            422,
            {"error_details": {"currency": ["value_is_invalid"]}},
        ),
    ],
)
async def test_bad_one_off_requests(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    fees: list[dict[str, Any]],
    extra: dict[str, Any],
    status: int,
    expected: dict[str, Any],
) -> None:
    await catalog(client, tenant_a)
    response = await create(client, tenant_a, fees, **extra)
    assert response.status_code == status, response.text
    body = response.json()
    assert {key: body[key] for key in expected} == expected
    listed = await client.get("/api/v1/invoices", headers=tenant_a.headers)
    assert listed.json()["invoices"] == []


async def test_other_organizations_add_ons_and_customers_are_invisible(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await catalog(client, tenant_a)
    await ok(client, tenant_b, "/api/v1/customers", {"customer": {"external_id": "cus_1"}})
    response = await create(client, tenant_b, [{"add_on_code": "setup"}])
    assert response.json()["code"] == "add_on_not_found"


async def test_one_off_with_temporal_behind_the_api(
    temporal_client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await catalog(temporal_client, tenant_a)
    response = await create(temporal_client, tenant_a, [{"add_on_code": "setup"}])
    assert response.status_code == 200, response.text
    assert response.json()["invoice"]["total_amount_cents"] == 1100
