"""/api/v1/customers: Lago's upsert, CustomerObject, filters, soft delete."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Customer, Organization
from tests.support.auth import Tenant


async def upsert(
    client: httpx.AsyncClient, tenant: Tenant, external_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"customer": {"external_id": external_id, **fields}}
    response = await client.post("/api/v1/customers", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    customer: dict[str, Any] = response.json()["customer"]
    return customer


def z(moment: Any) -> str:
    text: str = moment.isoformat().replace("+00:00", "Z")
    return text


async def test_create_returns_lagos_customer_object(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tax_response = await client.post(
        "/api/v1/taxes",
        json={"tax": {"name": "VAT", "code": "vat", "rate": "20"}},
        headers=tenant_a.headers,
    )
    clock = await _test_clock(client, tenant_a)
    customer = await upsert(
        client,
        tenant_a,
        "cus_1",
        name="Gavin Belson",
        firstname="Gavin",
        lastname="Belson",
        customer_type="company",
        email="gavin@hooli.test,billing@hooli.test",
        phone="1-171-883-3711",
        url="http://hooli.test",
        legal_name="Hooli",
        legal_number="49-008-2965",
        tax_identification_number="EU123456789",
        address_line1="5230 Penfield Ave",
        address_line2=None,
        city="Woodland Hills",
        state="CA",
        zipcode="91364",
        country="us",
        currency="USD",
        timezone="America/Los_Angeles",
        net_payment_term=30,
        metadata=[{"key": "po", "value": "123", "display_in_invoice": True}],
        billing_configuration={
            "invoice_grace_period": 3,
            "payment_provider": "stripe",
            "payment_provider_code": "stripe-us",
            "provider_customer_id": "cus_stripe_1",
            "document_locale": "fr",
            "sync_with_provider": True,
        },
        tax_codes=["vat"],
        test_clock_id=str(clock),
        shipping_address={"city": "ignored"},
    )
    async with sessions() as session:
        row = await session.scalar(select(Customer))
        org = await session.get(Organization, tenant_a.organization_id)
    assert row is not None
    assert org is not None
    metadata_id = row.metadata_[0]["lago_id"]
    assert customer == {
        "lago_id": str(row.id),
        "sequential_id": 1,
        "slug": f"{org.document_number_prefix}-001",
        "external_id": "cus_1",
        "billing_entity_code": "org_a",  # the organization's default entity
        "account_type": "customer",
        "name": "Gavin Belson",
        "firstname": "Gavin",
        "lastname": "Belson",
        "customer_type": "company",
        "email": "gavin@hooli.test,billing@hooli.test",
        "phone": "1-171-883-3711",
        "url": "http://hooli.test",
        "logo_url": None,
        "legal_name": "Hooli",
        "legal_number": "49-008-2965",
        "tax_identification_number": "EU123456789",
        "address_line1": "5230 Penfield Ave",
        "address_line2": None,
        "city": "Woodland Hills",
        "state": "CA",
        "zipcode": "91364",
        "country": "US",
        "currency": "USD",
        "timezone": "America/Los_Angeles",
        "applicable_timezone": "America/Los_Angeles",
        "net_payment_term": 30,
        "created_at": z(row.created_at),
        "updated_at": z(row.updated_at),
        "billing_configuration": {
            "invoice_grace_period": 3,
            "payment_provider": "stripe",
            "payment_provider_code": "stripe-us",
            "provider_customer_id": "cus_stripe_1",
            "sync_with_provider": True,
            "document_locale": "fr",
        },
        "metadata": [
            {
                "lago_id": metadata_id,
                "key": "po",
                "value": "123",
                "display_in_invoice": True,
                "created_at": row.metadata_[0]["created_at"],
            }
        ],
        "taxes": [tax_response.json()["tax"]],
        "integration_customers": [],
        "applicable_invoice_custom_sections": [],
        "test_clock_id": str(clock),
        "applied_dunning_campaign_code": None,
        "exclude_from_dunning_campaign": False,
        "last_dunning_campaign_attempt": 0,
        "last_dunning_campaign_attempt_at": None,
    }
    assert uuid.UUID(metadata_id)
    got = await client.get("/api/v1/customers/cus_1", headers=tenant_a.headers)
    assert got.json() == {"customer": customer}


async def test_post_updates_an_existing_customer(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    for code in ("vat", "gst"):
        body = {"tax": {"name": code, "code": code, "rate": "5"}}
        await client.post("/api/v1/taxes", json=body, headers=tenant_a.headers)
    created = await upsert(
        client,
        tenant_a,
        "cus_1",
        name="Old",
        email="a@b.test",
        timezone="Europe/Paris",
        metadata=[
            {"key": "po", "value": "1"},
            {"key": "gone", "value": "x"},
        ],
        tax_codes=["vat"],
        billing_configuration={"invoice_grace_period": 2},
    )
    updated = await upsert(
        client,
        tenant_a,
        "cus_1",
        name="New",
        timezone=None,
        metadata=[
            {"key": "po", "value": "2", "display_in_invoice": True},
            {"key": "new", "value": "y"},
        ],
        tax_codes=["gst"],
        billing_configuration={"document_locale": "de"},
    )
    assert updated["lago_id"] == created["lago_id"]
    assert updated["sequential_id"] == 1
    assert updated["name"] == "New"
    assert updated["email"] == "a@b.test"  # not sent: kept
    assert updated["timezone"] is None  # null: cleared
    assert updated["applicable_timezone"] == "UTC"  # the organization's
    assert updated["billing_configuration"]["invoice_grace_period"] == 2
    assert updated["billing_configuration"]["document_locale"] == "de"
    assert [t["code"] for t in updated["taxes"]] == ["gst"]
    po_before = next(m for m in created["metadata"] if m["key"] == "po")
    assert [(m["key"], m["value"], m["display_in_invoice"]) for m in updated["metadata"]] == [
        ("po", "2", True),
        ("new", "y", False),
    ]
    assert updated["metadata"][0]["lago_id"] == po_before["lago_id"]
    # Matching by id renames a key while keeping its lago_id.
    renamed = await upsert(
        client,
        tenant_a,
        "cus_1",
        metadata=[{"id": po_before["lago_id"], "key": "order", "value": "3"}],
    )
    assert renamed["metadata"][0]["lago_id"] == po_before["lago_id"]
    assert renamed["metadata"][0]["key"] == "order"
    # tax_codes left out keep the taxes.
    assert [t["code"] for t in renamed["taxes"]] == ["gst"]
    # Without subscriptions or coupons in it, the currency may change.
    assert (await upsert(client, tenant_a, "cus_1", currency="EUR"))["currency"] == "EUR"
    assert (await upsert(client, tenant_a, "cus_1", currency="USD"))["currency"] == "USD"


async def test_sequential_ids_survive_concurrent_creates(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    created = await asyncio.gather(*(upsert(client, tenant_a, f"c{i}") for i in range(12)))
    assert sorted(c["sequential_id"] for c in created) == list(range(1, 13))
    assert len({c["slug"] for c in created}) == 12
    # The same external_id at once: one customer.
    same = await asyncio.gather(*(upsert(client, tenant_a, "dup", name=f"n{i}") for i in range(5)))
    assert len({c["lago_id"] for c in same}) == 1
    assert same[0]["sequential_id"] == 13
    # Another organization counts from 1.
    assert (await upsert(client, tenant_b, "c0"))["sequential_id"] == 1


async def test_delete_is_soft_and_frees_the_external_id(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await upsert(client, tenant_a, "cus_1", name="First")
    deleted = await client.delete("/api/v1/customers/cus_1", headers=tenant_a.headers)
    assert deleted.status_code == 200
    assert deleted.json()["customer"]["lago_id"] == first["lago_id"]
    assert (
        await client.get("/api/v1/customers/cus_1", headers=tenant_a.headers)
    ).status_code == 404
    again = await client.delete("/api/v1/customers/cus_1", headers=tenant_a.headers)
    assert again.json() == {"status": 404, "error": "Not Found", "code": "customer_not_found"}
    second = await upsert(client, tenant_a, "cus_1", name="Second")
    assert second["lago_id"] != first["lago_id"]
    assert second["sequential_id"] == 2  # numbers are never reused
    listed = await client.get("/api/v1/customers", headers=tenant_a.headers)
    assert [c["name"] for c in listed.json()["customers"]] == ["Second"]
    async with sessions() as session:
        rows = (await session.scalars(select(Customer).order_by(Customer.sequential_id))).all()
    assert [row.deleted_at is not None for row in rows] == [True, False]


async def test_invalid_customers_are_422_with_details(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        ({}, {"external_id": ["value_is_mandatory"]}),
        ({"external_id": ""}, {"external_id": ["value_is_invalid"]}),
        (
            {
                "external_id": "c",
                "country": "XX",
                "currency": "EURO",
                "timezone": "Mars/Base",
                "email": "a@b.test,nope",
                "customer_type": "robot",
                "net_payment_term": "thirty",
                "test_clock_id": "not-a-uuid",
            },
            {
                "country": ["not_a_valid_country_code"],
                "currency": ["value_is_invalid"],
                "timezone": ["invalid_timezone"],
                "email": ["invalid_email_format"],
                "customer_type": ["value_is_invalid"],
                "net_payment_term": ["invalid_type"],
                "test_clock_id": ["value_is_invalid"],
            },
        ),
        (
            {
                "external_id": "c",
                "billing_configuration": {
                    "payment_provider": "adyen",
                    "invoice_grace_period": -1,
                    "document_locale": "zz-nowhere",
                },
            },
            {
                "billing_configuration.payment_provider": ["value_is_invalid"],
                "billing_configuration.invoice_grace_period": ["value_is_invalid"],
                "billing_configuration.document_locale": ["value_is_invalid"],
            },
        ),
        (
            {"external_id": "c", "metadata": [{"key": f"k{i}", "value": "v"} for i in range(6)]},
            {"metadata": ["invalid_count"]},
        ),
        (
            {
                "external_id": "c",
                "metadata": [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}],
            },
            {"metadata": ["value_already_exist"]},
        ),
        (
            {"external_id": "c", "metadata": [{"key": "k" * 21, "value": "v" * 101}]},
            {"metadata.0.key": ["value_is_too_long"], "metadata.0.value": ["value_is_too_long"]},
        ),
        ({"external_id": "c", "net_payment_term": -1}, {"net_payment_term": ["value_is_invalid"]}),
        ({"external_id": "c", "name": "n" * 256}, {"name": ["value_is_too_long"]}),
    ]
    for customer, details in cases:
        response = await client.post(
            "/api/v1/customers", json={"customer": customer}, headers=tenant_a.headers
        )
        assert response.status_code == 422, customer
        assert response.json() == {
            "status": 422,
            "error": "Unprocessable Entity",
            "code": "validation_errors",
            "error_details": details,
        }
    unknown_tax = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "c", "tax_codes": ["nope"]}},
        headers=tenant_a.headers,
    )
    assert unknown_tax.status_code == 404
    assert unknown_tax.json()["code"] == "tax_not_found"
    listed = await client.get("/api/v1/customers", headers=tenant_a.headers)
    assert listed.json()["customers"] == []


async def test_list_filters_and_pagination(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await upsert(client, tenant_a, "fr_1", name="Jean Dupont", country="FR", currency="EUR")
    await upsert(
        client,
        tenant_a,
        "us_1",
        legal_name="Acme 100% Inc",
        country="US",
        currency="USD",
        customer_type="company",
        tax_identification_number="US1",
    )
    await upsert(client, tenant_a, "us_2", email="ops@dupont.test", country="US", state="CA")

    async def codes(query: str) -> list[str]:
        response = await client.get(f"/api/v1/customers?{query}", headers=tenant_a.headers)
        assert response.status_code == 200
        return [c["external_id"] for c in response.json()["customers"]]

    assert await codes("") == ["us_2", "us_1", "fr_1"]
    assert await codes("search_term=dupont") == ["us_2", "fr_1"]
    assert await codes("search_term=100%25") == ["us_1"]  # % is matched literally
    assert await codes("search_term=Acme_100") == []  # so is _
    assert await codes("countries[]=us") == ["us_2", "us_1"]
    assert await codes("countries[]=FR&countries[]=US&currencies[]=EUR") == ["fr_1"]
    assert await codes("states[]=CA") == ["us_2"]
    assert await codes("customer_type=company") == ["us_1"]
    assert await codes("has_customer_type=false") == ["us_2", "fr_1"]
    assert await codes("has_tax_identification_number=true") == ["us_1"]
    assert await codes("zipcodes[]=75001") == []

    page = await client.get("/api/v1/customers?per_page=2&page=2", headers=tenant_a.headers)
    assert [c["external_id"] for c in page.json()["customers"]] == ["fr_1"]
    assert page.json()["meta"] == {
        "current_page": 2,
        "next_page": None,
        "prev_page": 1,
        "total_pages": 2,
        "total_count": 3,
    }
    bad = await client.get("/api/v1/customers?customer_type=robot", headers=tenant_a.headers)
    assert bad.status_code == 422
    assert bad.json()["error_details"] == {"customer_type": ["value_is_invalid"]}


async def test_organizations_never_see_each_others_customers(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    a_customer = await upsert(client, tenant_a, "shared_id", name="A's")
    assert (await client.get("/api/v1/customers", headers=tenant_b.headers)).json()[
        "customers"
    ] == []
    assert (
        await client.get("/api/v1/customers/shared_id", headers=tenant_b.headers)
    ).status_code == 404
    assert (
        await client.delete("/api/v1/customers/shared_id", headers=tenant_b.headers)
    ).status_code == 404
    # B's upsert with the same external_id creates B's own customer; A's is untouched.
    b_customer = await upsert(client, tenant_b, "shared_id", name="B's")
    assert b_customer["lago_id"] != a_customer["lago_id"]
    again = await client.get("/api/v1/customers/shared_id", headers=tenant_a.headers)
    assert again.json()["customer"]["name"] == "A's"


async def _test_clock(client: httpx.AsyncClient, tenant: Tenant) -> uuid.UUID:
    response = await client.post(
        "/api/v1/test_clocks",
        json={"test_clock": {"name": "rehearsal", "frozen_time": "2026-01-01T00:00:00Z"}},
        headers=tenant.headers,
    )
    return uuid.UUID(response.json()["test_clock"]["lago_id"])


async def test_test_clock_must_exist_in_the_organization(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    b_clock = await _test_clock(client, tenant_b)
    for clock_id in (uuid.uuid4(), b_clock):
        response = await client.post(
            "/api/v1/customers",
            json={"customer": {"external_id": "cus_tc", "test_clock_id": str(clock_id)}},
            headers=tenant_a.headers,
        )
        assert response.status_code == 422
        assert response.json()["error_details"] == {"test_clock_id": ["test_clock_not_found"]}


async def test_test_clock_is_set_at_creation_only(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    first, second = await _test_clock(client, tenant_a), await _test_clock(client, tenant_a)
    created = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "cus_tc", "test_clock_id": str(first)}},
        headers=tenant_a.headers,
    )
    assert created.json()["customer"]["test_clock_id"] == str(first)
    moved = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "cus_tc", "test_clock_id": str(second)}},
        headers=tenant_a.headers,
    )
    assert moved.status_code == 422
    assert moved.json()["error_details"] == {"test_clock_id": ["cannot_change_test_clock"]}
    # Upserting other fields leaves the clock alone.
    renamed = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "cus_tc", "name": "Renamed"}},
        headers=tenant_a.headers,
    )
    assert renamed.json()["customer"]["test_clock_id"] == str(first)
