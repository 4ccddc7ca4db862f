"""Roles: every operation of the OpenAPI document, called with a key of each role, is
allowed or refused (403 in Lago's shape) exactly as the permission matrix says."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.api.deps import authenticates_with_key
from bxb.core.settings import Settings
from bxb.governance.actor import Role
from bxb.governance.permissions import (
    OUTSIDE_MATRIX,
    RULES,
    allowed_roles,
    outside_matrix,
    render_table,
    rule_for,
)
from bxb.models import Customer
from tests.support.auth import Tenant, key_with_role

FORBIDDEN = {"status": 403, "error": "Forbidden", "code": "forbidden_for_role"}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
METHODS = ("get", "post", "put", "patch", "delete")


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    # FastAPI keeps included routers as nodes; their routes hang below.
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from _routes(original.routes)
        elif isinstance(route, APIRoute):
            yield route


def _portal(route: APIRoute) -> bool:
    from bxb.portal.auth import current_portal_customer

    def depends(dependant: Any) -> bool:
        return any(d.call is current_portal_customer or depends(d) for d in dependant.dependencies)

    return depends(route.dependant)


def _keyed_operations(app: FastAPI) -> list[tuple[str, str]]:
    """(METHOD, path template) of each OpenAPI operation that admits API keys."""
    keyed = {
        (method, route.path)
        for route in _routes(app.router.routes)
        if authenticates_with_key(route)
        for method in route.methods or ()
    }
    operations = [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in METHODS
        if method in item and (method.upper(), path) in keyed
    ]
    assert len(operations) > 150
    return operations


def test_every_api_route_is_in_the_matrix_or_authenticates_otherwise() -> None:
    app = create_app(Settings(bootstrap_api_key=None))
    for route in _routes(app.router.routes):
        if not route.path.startswith("/api/v1"):
            continue
        if authenticates_with_key(route):
            for method in route.methods or ():
                assert rule_for(method, route.path) is not None, (
                    f"{method} {route.path} has no entry in bxb.governance.permissions"
                )
        else:
            assert _portal(route) or outside_matrix(route.path), (
                f"{route.path} authenticates with nothing the app knows"
            )


def test_unknown_routes_are_for_admins_only() -> None:
    assert allowed_roles("GET", "/api/v1/something_new") == {Role.ADMIN}
    assert allowed_roles("POST", "/api/v1/customersx") == {Role.ADMIN}
    assert rule_for("GET", "/api/v1/customers/{external_customer_id}") is not None


def test_docs_table_is_the_matrix() -> None:
    text = DOCS.read_text()
    start = text.index("<!-- matrix:start -->") + len("<!-- matrix:start -->\n")
    end = text.index("<!-- matrix:end -->")
    assert text[start:end] == render_table(), (
        "docs/roles.md is out of date: paste `python -m bxb.governance.permissions` into it"
    )
    assert all(pattern in text for pattern in OUTSIDE_MATRIX)
    assert len(RULES) == len({rule.pattern for rule in RULES})


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


async def test_every_operation_with_every_role(
    settings: Settings, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from tests.conftest import app_client

    keys: dict[Role, Tenant] = {
        Role.ADMIN: tenant_a,
        **{
            role: await key_with_role(sessions, tenant_a, role.value)
            for role in Role
            if role is not Role.ADMIN
        },
    }
    app = create_app(settings)
    operations = _keyed_operations(app)
    wrong: list[str] = []
    async for client in app_client(app, raise_app_exceptions=False):
        for method, path in operations:
            url = _fill(path)
            for role, tenant in keys.items():
                body: dict[str, object] | None = None if method in ("GET", "DELETE") else {}
                response = await client.request(method, url, json=body, headers=tenant.headers)
                allowed = role in allowed_roles(method, path) or role is Role.ADMIN
                if allowed and response.status_code == 403:
                    wrong.append(f"{role} {method} {path}: 403, the matrix allows it")
                elif not allowed and (response.status_code, response.json()) != (403, FORBIDDEN):
                    wrong.append(f"{role} {method} {path}: {response.status_code}, expected 403")
                assert response.status_code < 500 or response.status_code == 503, (
                    f"{role} {method} {path}: {response.status_code} {response.text}"
                )
    assert not wrong, "\n".join(wrong)


async def test_a_finance_viewer_reads_money_and_changes_nothing(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "c-1", "name": "Acme", "currency": "EUR"}},
        headers=tenant_a.headers,
    )
    assert created.status_code == 200, created.text
    finance = await key_with_role(sessions, tenant_a, "finance_viewer")
    for path in (
        "/api/v1/invoices",
        "/api/v1/credit_notes",
        "/api/v1/payments",
        "/api/v1/fees",
        "/api/v1/analytics/gross_revenue",
        "/api/v1/analytics/mrr",
        "/api/v1/dashboard/overview",
    ):
        response = await client.get(path, headers=finance.headers)
        assert response.status_code == 200, (path, response.text)
    shown = await client.get("/api/v1/customers/c-1", headers=finance.headers)
    assert shown.json()["customer"]["name"] == "Acme"
    for method, path, body in (
        ("POST", "/api/v1/customers", {"customer": {"external_id": "c-1", "name": "Evil"}}),
        ("DELETE", "/api/v1/customers/c-1", None),
        ("POST", "/api/v1/invoices", {}),
        ("PUT", "/api/v1/organizations", {"organization": {"legal_name": "Evil"}}),
        ("POST", "/api/v1/api_keys", {"api_key": {"name": "mine", "role": "admin"}}),
        ("POST", "/api/v1/events", {"event": {"transaction_id": "t", "code": "x"}}),
    ):
        response = await client.request(method, path, json=body, headers=finance.headers)
        assert (response.status_code, response.json()) == (403, FORBIDDEN), (method, path)
    async with sessions() as session:
        customer = (await session.scalars(select(Customer))).one()
    assert customer.name == "Acme"
    assert customer.deleted_at is None


async def test_a_support_key_cannot_see_api_keys_but_edits_customers(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    support = await key_with_role(sessions, tenant_a, "support")
    for method, path in (("GET", "/api/v1/api_keys"), ("POST", "/api/v1/api_keys")):
        response = await client.request(method, path, json={}, headers=support.headers)
        assert (response.status_code, response.json()) == (403, FORBIDDEN)
    created = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "c-2", "name": "Support made"}},
        headers=support.headers,
    )
    assert created.status_code == 200, created.text
    refused = await client.delete("/api/v1/customers/c-2", headers=support.headers)
    assert refused.status_code == 403
    assert (await client.post("/api/v1/plans", json={}, headers=support.headers)).status_code == 403


@pytest.mark.parametrize("role", [role for role in Role if role is not Role.ADMIN])
async def test_an_existing_single_key_organization_is_admin(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    role: Role,
) -> None:
    # tenant_a's key is the organization's first key: admin, so every route is open to it.
    other = await key_with_role(sessions, tenant_a, role.value)
    assert (await client.get("/api/v1/api_keys", headers=tenant_a.headers)).status_code == 200
    assert (await client.get("/api/v1/api_keys", headers=other.headers)).status_code == 403
