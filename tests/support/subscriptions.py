"""A customer on a test clock with a monthly plan, driven through the HTTP API (tests)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.support.auth import Tenant


class SubscriptionApi:
    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client = client
        self.headers = tenant.headers
        self.clock = ""
        # How long the last call took (the wedge tests bound it).
        self.took = 0.0

    async def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        started = time.monotonic()
        try:
            return await self.client.request(method, path, json=body, headers=self.headers)
        finally:
            self.took = time.monotonic() - started

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.send(method, path, body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def customer_on_clock(
        self, frozen: str, external_id: str = "cus_1", **customer: Any
    ) -> None:
        clock = await self.ok(
            "POST", "/api/v1/test_clocks", {"test_clock": {"name": "c", "frozen_time": frozen}}
        )
        self.clock = clock["test_clock"]["lago_id"]
        body = {"external_id": external_id, "test_clock_id": self.clock, **customer}
        await self.ok("POST", "/api/v1/customers", {"customer": body})

    async def plan(self, code: str = "basic", amount_cents: int = 3100, **extra: Any) -> None:
        plan = {
            "name": code.title(),
            "code": code,
            "interval": "monthly",
            "amount_cents": amount_cents,
            "amount_currency": "USD",
            **extra,
        }
        await self.ok("POST", "/api/v1/plans", {"plan": plan})

    async def subscribe(self, external_id: str = "sub_1", **extra: Any) -> httpx.Response:
        body = {"external_customer_id": "cus_1", "plan_code": "basic", "external_id": external_id}
        return await self.send("POST", "/api/v1/subscriptions", {"subscription": body | extra})

    async def rename(self, name: str, external_id: str = "sub_1") -> httpx.Response:
        body = {"subscription": {"name": name}}
        return await self.send("PUT", f"/api/v1/subscriptions/{external_id}", body)

    async def advance(self, to: str) -> httpx.Response:
        return await self.send(
            "POST",
            f"/api/v1/test_clocks/{self.clock}/advance",
            {"test_clock": {"frozen_time": to}},
        )

    async def subscription(self, external_id: str = "sub_1") -> dict[str, Any]:
        found: dict[str, Any] = (await self.ok("GET", f"/api/v1/subscriptions/{external_id}"))[
            "subscription"
        ]
        return found
