"""Changes carried out by a workflow or the ledger still leave the request's activity row."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import ActivityLog
from tests.support.auth import Tenant


async def _call(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: Any = None
) -> dict[str, Any]:
    answer = await client.request(method, "/api/v1" + path, json=body, headers=tenant.headers)
    assert answer.status_code == 200, f"{method} {path}: {answer.text}"
    result: dict[str, Any] = answer.json()
    return result


async def _new_rows(
    sessions: async_sessionmaker[AsyncSession], seen: list[ActivityLog]
) -> list[tuple[str, str | None, str | None]]:
    async with sessions() as session:
        rows = list(await session.scalars(select(ActivityLog).order_by(ActivityLog.logged_at)))
    new = rows[len(seen) :]
    seen.extend(new)
    return sorted(
        (r.activity_type, r.external_customer_id, r.external_subscription_id) for r in new
    )


async def test_subscription_routes_are_logged_by_the_request(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    client, seen = temporal_client, list[ActivityLog]()
    plan = {"name": "Pro", "code": "pro", "interval": "monthly", "amount_cents": 1000}
    await _call(client, tenant_a, "POST", "/plans", {"plan": plan | {"amount_currency": "USD"}})
    customer = {"external_id": "cus_1", "name": "Ada", "currency": "USD"}
    await _call(client, tenant_a, "POST", "/customers", {"customer": customer})
    await _new_rows(sessions, seen)

    body = {"external_customer_id": "cus_1", "plan_code": "pro", "external_id": "sub_1"}
    await _call(client, tenant_a, "POST", "/subscriptions", {"subscription": body})
    assert await _new_rows(sessions, seen) == [("subscription.started", "cus_1", "sub_1")]

    await _call(client, tenant_a, "PUT", "/subscriptions/sub_1", {"subscription": {"name": "Main"}})
    assert await _new_rows(sessions, seen) == [("subscription.updated", "cus_1", "sub_1")]
    assert seen[-1].activity_object_changes == {"name": [None, "Main"]}

    await _call(client, tenant_a, "DELETE", "/subscriptions/sub_1")
    assert await _new_rows(sessions, seen) == [("subscription.terminated", "cus_1", "sub_1")]
    assert seen[-1].activity_object is not None
    assert seen[-1].activity_object["status"] == "terminated"


async def test_one_off_invoice_and_its_void_are_logged(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    client, seen = temporal_client, list[ActivityLog]()
    add_on = {"name": "Setup", "code": "setup", "amount_cents": 1000, "amount_currency": "USD"}
    await _call(client, tenant_a, "POST", "/add_ons", {"add_on": add_on})
    customer = {"external_id": "cus_1", "name": "Ada", "currency": "USD"}
    await _call(client, tenant_a, "POST", "/customers", {"customer": customer})
    await _new_rows(sessions, seen)

    invoice = {"external_customer_id": "cus_1", "fees": [{"add_on_code": "setup"}]}
    created = await _call(client, tenant_a, "POST", "/invoices", {"invoice": invoice})
    assert ("invoice.one_off_created", "cus_1", None) in await _new_rows(sessions, seen)
    lago_id = created["invoice"]["lago_id"]
    await _call(client, tenant_a, "POST", f"/invoices/{lago_id}/void")
    assert ("invoice.voided", "cus_1", None) in await _new_rows(sessions, seen)
