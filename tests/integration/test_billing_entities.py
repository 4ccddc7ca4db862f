"""/api/v1/billing_entities in Lago's shapes, and what an entity does to its customers'
invoices: their number, their taxes, their payment term."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import ActivityLog, BillingEntity, Customer
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors

Sessions = async_sessionmaker[AsyncSession]

# Named exception (docs/billing_entities.md): the reference declares `country` as
# `$ref: Country` with OpenAPI 3.0's `nullable: true`, which JSON Schema 2020-12 ignores;
# Lago's server sends null for an entity without a country, and so does bxb.
NULL_COUNTRY = "['country']: null is not"


def entity_errors(schema_name: str, entity: dict[str, Any]) -> list[str]:
    errors = lago_errors(schema_name, entity)
    if entity.get("country") is None:
        errors = [error for error in errors if not error.startswith(NULL_COUNTRY)]
    return errors


EU = {
    "code": "acme_eu",
    "name": "Acme Europe",
    "default_currency": "EUR",
    "timezone": "Europe/Paris",
    "email": "billing@acme.eu",
    "legal_name": "Acme Europe SAS",
    "legal_number": "FR123",
    "tax_identification_number": "FR99",
    "address_line1": "1 rue de Rivoli",
    "city": "Paris",
    "zipcode": "75001",
    "country": "fr",
    "net_payment_term": 30,
    "document_numbering": "per_billing_entity",
    "document_number_prefix": "eu",
    "finalize_zero_amount_invoice": False,
    "email_settings": ["invoice.finalized"],
    "billing_configuration": {
        "invoice_footer": "Merci",
        "invoice_grace_period": 2,
        "document_locale": "fr",
    },
}


async def ok(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: Any = None
) -> dict[str, Any]:
    response = await client.request(method, path, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def create_entity(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"billing_entity": EU | fields}
    entity: dict[str, Any] = (await ok(client, tenant, "POST", "/api/v1/billing_entities", body))[
        "billing_entity"
    ]
    return entity


async def entity_count(sessions: Sessions, tenant: Tenant) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(BillingEntity)
            .where(BillingEntity.organization_id == tenant.organization_id)
        )
    return int(count or 0)


async def test_every_organization_has_a_default_entity(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    org = (await ok(client, tenant_a, "GET", "/api/v1/organizations"))["organization"]
    listed = await ok(client, tenant_a, "GET", "/api/v1/billing_entities")
    [entity] = listed["billing_entities"]
    assert entity_errors("BillingEntityObject", entity) == []
    assert entity["lago_id"] == org["lago_id"]  # Lago: the default entity has the org's id
    assert entity["is_default"] is True
    assert entity["name"] == org["name"]
    assert entity["document_number_prefix"] == org["document_number_prefix"]
    assert (entity["default_currency"], entity["timezone"]) == ("USD", "UTC")
    assert entity["document_numbering"] == "per_customer"
    shown = await ok(client, tenant_a, "GET", f"/api/v1/billing_entities/{entity['code']}")
    assert entity_errors("BillingEntityObjectExtended", shown["billing_entity"]) == []
    assert shown["billing_entity"]["taxes"] == []


async def test_create_show_and_update_an_entity(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: Sessions
) -> None:
    entity = await create_entity(client, tenant_a)
    assert entity_errors("BillingEntityObject", entity) == []
    assert entity["is_default"] is False
    assert (entity["code"], entity["name"], entity["country"]) == ("acme_eu", "Acme Europe", "FR")
    assert entity["document_number_prefix"] == "EU"
    assert (entity["net_payment_term"], entity["invoice_grace_period"]) == (30, 2)
    assert (entity["invoice_footer"], entity["document_locale"]) == ("Merci", "fr")
    assert entity["document_numbering"] == "per_billing_entity"
    assert entity["finalize_zero_amount_invoice"] is False
    assert entity["email_settings"] == ["invoice.finalized"]
    assert entity["subscription_invoice_issuing_date_anchor"] == "next_period_start"
    # The prefix Lago makes when none is given: the name's letters and the id's end.
    other = await create_entity(
        client, tenant_a, code="us", name="Acme US", document_number_prefix=None
    )
    assert other["document_number_prefix"] == f"ACM-{other['lago_id'][-4:].upper()}"

    await ok(
        client,
        tenant_a,
        "POST",
        "/api/v1/taxes",
        {"tax": {"name": "TVA", "code": "tva", "rate": "20"}},
    )
    body = {
        "billing_entity": {
            "name": "Acme EU",
            "address_line1": None,
            "tax_codes": ["tva"],
            "billing_configuration": {"invoice_grace_period": 5},
            "code": "ignored",  # the code never changes
        }
    }
    updated = (await ok(client, tenant_a, "PUT", "/api/v1/billing_entities/acme_eu", body))[
        "billing_entity"
    ]
    assert entity_errors("BillingEntityObjectExtended", updated) == []
    assert (updated["code"], updated["name"], updated["address_line1"]) == (
        "acme_eu",
        "Acme EU",
        None,
    )
    assert updated["invoice_grace_period"] == 5
    assert updated["city"] == "Paris"  # left out: kept
    assert [tax["code"] for tax in updated["taxes"]] == ["tva"]
    shown = (await ok(client, tenant_a, "GET", "/api/v1/billing_entities/acme_eu"))[
        "billing_entity"
    ]
    assert shown == updated
    listed = await ok(client, tenant_a, "GET", "/api/v1/billing_entities")
    assert [e["code"] for e in listed["billing_entities"]][1:] == ["acme_eu", "us"]
    async with sessions() as session:
        kinds = list(
            await session.scalars(
                select(ActivityLog.activity_type).where(
                    ActivityLog.organization_id == tenant_a.organization_id,
                    ActivityLog.activity_type.like("billing_entities.%"),
                )
            )
        )
    assert sorted(kinds) == [
        "billing_entities.created",
        "billing_entities.created",
        "billing_entities.updated",
    ]


async def test_bad_input_is_refused_with_field_codes(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: Sessions
) -> None:
    before = await entity_count(sessions, tenant_a)
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        ({"name": "No code"}, {"code": ["value_is_mandatory"]}),
        ({"code": "x"}, {"name": ["value_is_mandatory"]}),
        (
            {"code": "x", "name": "X", "default_currency": "ABC"},
            {"default_currency": ["value_is_invalid"]},
        ),
        ({"code": "x", "name": "X", "country": "Mars"}, {"country": ["not_a_valid_country_code"]}),
        ({"code": "x", "name": "X", "timezone": "Mars/Base"}, {"timezone": ["invalid_timezone"]}),
        ({"code": "x", "name": "X", "email": "nope"}, {"email": ["invalid_email_format"]}),
        (
            {"code": "x", "name": "X", "document_numbering": "per_year"},
            {"document_numbering": ["value_is_invalid"]},
        ),
        (
            {"code": "x", "name": "X", "document_number_prefix": "ELEVEN-CHARS"},
            {"document_number_prefix": ["value_is_too_long"]},
        ),
        (
            {"code": "x", "name": "X", "net_payment_term": -1},
            {"net_payment_term": ["value_is_invalid"]},
        ),
        (
            {"code": "x", "name": "X", "email_settings": ["invoice.voided"]},
            {"email_settings": ["unsupported_value"]},
        ),
        ({"code": "x", "name": "X", "timezone": None}, {"timezone": ["value_is_mandatory"]}),
    ]
    for fields, details in cases:
        response = await client.post(
            "/api/v1/billing_entities", json={"billing_entity": fields}, headers=tenant_a.headers
        )
        assert response.status_code == 422, (fields, response.text)
        body = response.json()
        assert body["code"] == "validation_errors"
        assert body["error_details"] == details, (fields, body["error_details"])
        assert lago_errors("ApiErrorUnprocessableEntity", body) == []
    await create_entity(client, tenant_a)
    taken = await client.post(
        "/api/v1/billing_entities", json={"billing_entity": EU}, headers=tenant_a.headers
    )
    assert taken.status_code == 422
    assert taken.json()["error_details"] == {"code": ["value_already_exist"]}
    assert await entity_count(sessions, tenant_a) == before + 1

    for fields, status, expected in (
        ({"name": None}, 422, {"name": ["value_is_mandatory"]}),
        ({"document_number_prefix": ""}, 422, {"document_number_prefix": ["value_is_invalid"]}),
        ({"tax_codes": ["missing"]}, 404, None),
    ):
        response = await client.put(
            "/api/v1/billing_entities/acme_eu",
            json={"billing_entity": {"city": "Lyon"} | fields},
            headers=tenant_a.headers,
        )
        assert response.status_code == status, response.text
        if expected is None:
            assert response.json()["code"] == "tax_not_found"
        else:
            assert response.json()["error_details"] == expected
    shown = (await ok(client, tenant_a, "GET", "/api/v1/billing_entities/acme_eu"))[
        "billing_entity"
    ]
    assert (shown["name"], shown["city"]) == ("Acme Europe", "Paris")  # nothing changed


async def test_entities_are_private_to_their_organization(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await create_entity(client, tenant_a)
    for method, body in (("GET", None), ("PUT", {"billing_entity": {"name": "Stolen"}})):
        response = await client.request(
            method, "/api/v1/billing_entities/acme_eu", json=body, headers=tenant_b.headers
        )
        assert response.status_code == 404
        assert response.json() == {
            "status": 404,
            "error": "Not Found",
            "code": "billing_entity_not_found",
        }
    listed = await ok(client, tenant_b, "GET", "/api/v1/billing_entities")
    assert [e["is_default"] for e in listed["billing_entities"]] == [True]
    # tenant_b's customers cannot join tenant_a's entity...
    response = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "c", "billing_entity_code": "acme_eu"}},
        headers=tenant_b.headers,
    )
    assert response.status_code == 404
    assert response.json()["code"] == "billing_entity_not_found"
    # ...and the code is free in tenant_b.
    assert (await create_entity(client, tenant_b))["code"] == "acme_eu"
    shown = (await ok(client, tenant_a, "GET", "/api/v1/billing_entities/acme_eu"))[
        "billing_entity"
    ]
    assert shown["name"] == "Acme Europe"


async def test_customers_belong_to_an_entity(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: Sessions
) -> None:
    await create_entity(client, tenant_a)
    default = (await ok(client, tenant_a, "GET", "/api/v1/billing_entities"))["billing_entities"][0]
    plain = await ok(
        client, tenant_a, "POST", "/api/v1/customers", {"customer": {"external_id": "plain"}}
    )
    assert plain["customer"]["billing_entity_code"] == default["code"]
    eu = await ok(
        client,
        tenant_a,
        "POST",
        "/api/v1/customers",
        {"customer": {"external_id": "eu", "billing_entity_code": "acme_eu"}},
    )
    assert eu["customer"]["billing_entity_code"] == "acme_eu"
    # An update that leaves the code out keeps the entity; one that names another moves it.
    kept = await ok(
        client,
        tenant_a,
        "POST",
        "/api/v1/customers",
        {"customer": {"external_id": "eu", "name": "E"}},
    )
    assert kept["customer"]["billing_entity_code"] == "acme_eu"
    assert (await ok(client, tenant_a, "GET", "/api/v1/customers/eu"))["customer"][
        "billing_entity_code"
    ] == "acme_eu"
    moved = await ok(
        client,
        tenant_a,
        "POST",
        "/api/v1/customers",
        {"customer": {"external_id": "plain", "billing_entity_code": "acme_eu"}},
    )
    assert moved["customer"]["billing_entity_code"] == "acme_eu"
    missing = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "new", "billing_entity_code": "nope"}},
        headers=tenant_a.headers,
    )
    assert missing.status_code == 404
    assert missing.json() == {
        "status": 404,
        "error": "Not Found",
        "code": "billing_entity_not_found",
    }
    async with sessions() as session:
        assert await session.scalar(select(Customer).where(Customer.external_id == "new")) is None


async def test_the_default_entity_and_the_organization_share_their_settings(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    default = (await ok(client, tenant_a, "GET", "/api/v1/billing_entities"))["billing_entities"][0]
    path = f"/api/v1/billing_entities/{default['code']}"
    org_update = {"organization": {"document_number_prefix": "NEW", "net_payment_term": 7}}
    await ok(client, tenant_a, "PUT", "/api/v1/organizations", org_update)
    shown = (await ok(client, tenant_a, "GET", path))["billing_entity"]
    assert (shown["document_number_prefix"], shown["net_payment_term"]) == ("NEW", 7)
    body = {
        "billing_entity": {"legal_name": "Acme Inc", "document_numbering": "per_billing_entity"}
    }
    await ok(client, tenant_a, "PUT", path, body)
    org = (await ok(client, tenant_a, "GET", "/api/v1/organizations"))["organization"]
    assert (org["legal_name"], org["document_numbering"]) == ("Acme Inc", "per_organization")
