"""POST, PUT, DELETE /subscriptions/{id}/charges/{code}/filters: a subscription's own
filters (a child plan made on the first change, changed in place after), the workflow
told of the new plan, Lago's shapes and 422s, isolation, the lago-python-client."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.charge import ChargeFilter as FilterInput
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api import subscription_overrides
from bxb.core.temporal import TemporalConnector
from bxb.models import Charge, ChargeFilter, Plan, Subscription
from bxb.workflows.state import RefreshPlanRequest
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors
from tests.support.plan_catalog import catalog, subscription_on

URL = "/api/v1/subscriptions/sub_9/charges/calls/filters"


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


@pytest.fixture
def refreshed(monkeypatch: pytest.MonkeyPatch) -> list[RefreshPlanRequest]:
    """The refresh_plan updates sent to the subscription's workflow (no Temporal here)."""
    sent: list[RefreshPlanRequest] = []

    async def no_client(*_: Any) -> object:
        return object()

    async def record(_: object, __: str, name: str, request: Any, **___: Any) -> None:
        assert name == "refresh_plan"
        sent.append(request)

    monkeypatch.setattr(TemporalConnector, "client", no_client)
    monkeypatch.setattr(subscription_overrides, "send_update", record)
    return sent


async def _setup(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> uuid.UUID:
    made = await catalog(client, tenant)
    plan_id = uuid.UUID(made["plan"]["lago_id"])
    await subscription_on(client, sessions, tenant, plan_id)
    return plan_id


async def _filters(sessions: async_sessionmaker[AsyncSession], plan_id: uuid.UUID) -> list[Any]:
    async with sessions() as session:
        rows = await session.execute(
            select(ChargeFilter.id, ChargeFilter.values, ChargeFilter.properties)
            .join(Charge, Charge.id == ChargeFilter.charge_id)
            .where(Charge.plan_id == plan_id, ChargeFilter.deleted_at.is_(None))
        )
        return [tuple(row) for row in rows]


async def _move_onto(sessions: async_sessionmaker[AsyncSession], plan_id: uuid.UUID) -> None:
    """What the workflow's mirror does once it took the plan."""
    async with sessions() as session:
        await session.execute(update(Subscription).values(plan_id=plan_id))
        await session.commit()


async def test_a_subscription_gets_its_own_filters(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    refreshed: list[RefreshPlanRequest],
) -> None:
    parent_id = await _setup(client, sessions, tenant_a)
    h = tenant_a.headers
    body = {
        "filter": {
            "values": {"region": ["eu"]},
            "properties": {"amount": "2"},
            "invoice_display_name": "Europe",
        }
    }
    response = await client.post(URL, json=body, headers=h)
    assert response.status_code == 200, response.text
    created = response.json()
    assert lago_errors("ChargeFilterResponse", created) == []
    assert (created["filter"]["values"], created["filter"]["properties"]["amount"]) == (
        {"region": ["eu"]},
        "2",
    )
    # A child plan of the catalog plan carries it; the catalog plan is untouched.
    async with sessions() as session:
        child = await session.scalar(select(Plan).where(Plan.parent_id == parent_id))
        assert child is not None
    assert await _filters(sessions, parent_id) == []
    [(filter_id, values, properties)] = await _filters(sessions, child.id)
    assert (values, properties["amount"]) == ({"region": ["eu"]}, "2")
    [request] = refreshed
    assert (request.replaces, request.plan.id) == (parent_id, child.id)
    assert request.plan.charges[0].filters[0].properties["amount"] == "2"

    await _move_onto(sessions, child.id)
    changed = await client.put(
        f"{URL}/{filter_id}", json={"filter": {"properties": {"amount": "3"}}}, headers=h
    )
    assert changed.status_code == 200, changed.text
    assert lago_errors("ChargeFilterResponse", changed.json()) == []
    assert changed.json()["filter"]["properties"]["amount"] == "3"
    # Changed in place on the subscription's own plan (no new child, the same filter).
    assert await _filters(sessions, child.id) == [(filter_id, {"region": ["eu"]}, {"amount": "3"})]
    async with sessions() as session:
        assert (
            len(list(await session.scalars(select(Plan).where(Plan.parent_id == parent_id)))) == 1
        )
    assert refreshed[-1].replaces == child.id

    # Lago's 422s: nothing written.
    for bad, details in [
        ({"filter": {"properties": {"amount": "1"}}}, {"values": ["value_is_mandatory"]}),
        ({"filter": {"values": {"region": ["eu"]}}}, {"values": ["value_already_exists"]}),
        (
            {"filter": {"values": {"region": ["mars"]}, "properties": {"amount": "1"}}},
            None,
        ),
        ({"filter": {"values": {"region": ["us"]}, "properties": {"amount": "-1"}}}, None),
    ]:
        refused = await client.post(URL, json=bad, headers=h)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["code"] == "validation_errors"
        if details is not None:
            assert refused.json()["error_details"] == details
    bad_update = await client.put(
        f"{URL}/{filter_id}", json={"filter": {"values": {"region": ["mars"]}}}, headers=h
    )
    assert bad_update.status_code == 422
    assert await _filters(sessions, child.id) == [(filter_id, {"region": ["eu"]}, {"amount": "3"})]

    deleted = await client.delete(f"{URL}/{filter_id}", headers=h)
    assert deleted.status_code == 200, deleted.text
    assert lago_errors("ChargeFilterResponse", deleted.json()) == []
    assert deleted.json()["filter"]["properties"]["amount"] == "3"
    assert await _filters(sessions, child.id) == []
    assert len(refreshed) == 3

    for method, path, code in [
        ("DELETE", f"{URL}/{filter_id}", "charge_filter_not_found"),
        ("PUT", f"{URL}/not-a-uuid", "charge_filter_not_found"),
        ("POST", "/api/v1/subscriptions/sub_9/charges/nope/filters", "charge_not_found"),
        ("POST", "/api/v1/subscriptions/nope/charges/calls/filters", "subscription_not_found"),
    ]:
        missing = await client.request(method, path, json=body, headers=h)
        assert (missing.status_code, missing.json()["code"]) == (404, code), path


async def test_another_organization_changes_no_filter(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
    refreshed: list[RefreshPlanRequest],
) -> None:
    parent_id = await _setup(client, sessions, tenant_a)
    body = {"filter": {"values": {"region": ["eu"]}, "properties": {"amount": "2"}}}
    created = await client.post(URL, json=body, headers=tenant_a.headers)
    assert created.status_code == 200, created.text
    async with sessions() as session:
        child = await session.scalar(select(Plan).where(Plan.parent_id == parent_id))
        assert child is not None
    [(own_id, _, _)] = await _filters(sessions, child.id)
    for method, path in [
        ("POST", URL),
        ("PUT", f"{URL}/{own_id}"),
        ("DELETE", f"{URL}/{own_id}"),
    ]:
        response = await client.request(method, path, json=body, headers=tenant_b.headers)
        assert (response.status_code, response.json()["code"]) == (404, "subscription_not_found")
    assert len(await _filters(sessions, child.id)) == 1
    assert len(refreshed) == 1


async def test_the_lago_client_creates_updates_and_destroys_filters(
    live_api: str,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    refreshed: list[RefreshPlanRequest],
) -> None:
    parent_id = await _setup(client, sessions, tenant_a)
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    created = await call(
        lago.subscriptions.create_charge_filter,
        "sub_9",
        "calls",
        FilterInput(values={"region": ["us"]}, properties={"amount": "4"}),
    )
    assert created.values == {"region": ["us"]}
    async with sessions() as session:
        child = await session.scalar(select(Plan).where(Plan.parent_id == parent_id))
        assert child is not None
    await _move_onto(sessions, child.id)
    [(filter_id, _, _)] = await _filters(sessions, child.id)
    changed = await call(
        lago.subscriptions.update_charge_filter,
        "sub_9",
        "calls",
        str(filter_id),
        FilterInput(invoice_display_name="America"),
    )
    assert changed.invoice_display_name == "America"
    gone = await call(lago.subscriptions.destroy_charge_filter, "sub_9", "calls", str(filter_id))
    assert gone.invoice_display_name == "America"
    assert await _filters(sessions, child.id) == []
    with pytest.raises(LagoApiError) as missing:
        await call(lago.subscriptions.destroy_charge_filter, "sub_9", "calls", str(filter_id))
    assert missing.value.status_code == 404
