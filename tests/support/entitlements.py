"""Calls to the feature and entitlement routes (tests)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.auth import Tenant

SEATS = {
    "code": "seats",
    "name": "Number of seats",
    "description": "Users of the account",
    "privileges": [
        {"code": "max", "name": "Maximum", "value_type": "integer"},
        {"code": "root", "name": "Allow root user", "value_type": "boolean"},
        {"code": "label", "value_type": "string"},
        {
            "code": "provider",
            "name": "SSO Provider",
            "value_type": "select",
            "config": {"select_options": ["google", "okta"]},
        },
    ],
}


class Api:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client, self.headers = client, tenant.headers

    async def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(method, f"/api/v1{path}", json=body, headers=self.headers)

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.send(method, path, body)
        assert response.status_code == 200, response.text
        return response.json()

    async def error(self, method: str, path: str, body: Any, status: int) -> Any:
        response = await self.send(method, path, body)
        assert response.status_code == status, response.text
        return response.json()

    async def feature(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        created: dict[str, Any] = (await self.ok("POST", "/features", {"feature": body or SEATS}))[
            "feature"
        ]
        return created

    async def plan(self, code: str = "basic", amount_cents: int = 1000) -> None:
        plan = {
            "name": code.title(),
            "code": code,
            "interval": "monthly",
            "amount_cents": amount_cents,
            "amount_currency": "USD",
        }
        await self.ok("POST", "/plans", {"plan": plan})

    async def grant(self, plan: str, entitlements: dict[str, Any], method: str = "POST") -> Any:
        return (
            await self.ok(method, f"/plans/{plan}/entitlements", {"entitlements": entitlements})
        )["entitlements"]


def privilege(code: str, value_type: str, value: Any, name: str | None = None, **extra: Any) -> Any:
    """A privilege of an entitlement object as Lago answers it."""
    config = {"select_options": ["google", "okta"]} if value_type == "select" else {}
    return {
        "code": code,
        "name": name,
        "value_type": value_type,
        "config": config,
        "value": value,
    } | extra
