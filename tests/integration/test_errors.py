"""Bad input gets a clear 4xx in Lago's error shape, never a 500 page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from bxb.api.app import create_app
from bxb.core.settings import Settings
from tests.conftest import app_client
from tests.support.auth import Tenant


async def test_malformed_json_is_400(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    response = await client.put(
        "/api/v1/organizations",
        content=b'{"organization": {"email": ',
        headers={**tenant_a.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {"status": 400, "error": "Bad Request", "code": "invalid_json"}


async def test_wrong_types_are_422_with_field_details(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    body = {
        "organization": {
            "net_payment_term": "thirty",
            "default_currency": "DOLLARS",
            "timezone": "Mars/Olympus",
            "country": "XX",
            "email": "not-an-email",
            "document_numbering": "per_planet",
        }
    }
    response = await client.put("/api/v1/organizations", json=body, headers=tenant_a.headers)
    assert response.status_code == 422
    assert response.json() == {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": {
            "net_payment_term": ["invalid_type"],
            "default_currency": ["value_is_invalid"],
            "timezone": ["invalid_timezone"],
            "country": ["not_a_valid_country_code"],
            "email": ["invalid_email_format"],
            "document_numbering": ["value_is_invalid"],
        },
    }


async def test_missing_root_key_is_422(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    response = await client.put("/api/v1/organizations", json={}, headers=tenant_a.headers)
    assert response.status_code == 422
    assert response.json()["error_details"] == {"organization": ["value_is_mandatory"]}


async def test_oversized_body_is_413(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    # The test settings cap bodies at 64 KiB.
    big = {"organization": {"legal_name": "x" * 70_000}}
    response = await client.put("/api/v1/organizations", json=big, headers=tenant_a.headers)
    assert response.status_code == 413
    assert response.json() == {
        "status": 413,
        "error": "Payload Too Large",
        "code": "payload_too_large",
    }


async def test_oversized_body_without_length_is_413(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    response = await client.put(
        "/api/v1/organizations",
        content=chunks(),
        headers={**tenant_a.headers, "content-type": "application/json"},
    )
    assert response.status_code == 413


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"status": 404, "error": "Not Found", "code": "route_not_found"}
    wrong_method = await client.delete("/api/v1/organizations")
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {
        "status": 405,
        "error": "Method Not Allowed",
        "code": "not_allowed",
    }


async def test_unexpected_error_is_500_in_lagos_shape(settings: Settings) -> None:
    app: FastAPI = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    async for client in app_client(app, raise_app_exceptions=False):
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"status": 500, "error": "Internal Server Error"}


async def test_request_id_is_returned_and_propagated(client: httpx.AsyncClient) -> None:
    generated = await client.get("/health")
    assert len(generated.headers["x-request-id"]) == 32
    given = await client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    # Anything that is not a plain token is replaced, not echoed into logs and headers.
    hostile = await client.get("/health", headers={"X-Request-Id": "a b\x01"})
    assert hostile.headers["x-request-id"] != "a b\x01"
