"""/api/v1/webhook_endpoints (Lago's shapes), the outbox's emit, and listing deliveries."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.webhook_endpoint import WebhookEndpoint as LagoWebhookEndpoint
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import Organization, Webhook, WebhookAttempt
from bxb.models.base import utcnow
from bxb.webhooks.keys import ensure_hmac_key
from bxb.webhooks.outbox import emit
from tests.support.auth import Tenant

URL = "https://hooks.example.com/bxb"


async def create_endpoint(
    client: httpx.AsyncClient, tenant: Tenant, url: str = URL, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/webhook_endpoints",
        json={"webhook_endpoint": {"webhook_url": url, **fields}},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    endpoint: dict[str, Any] = response.json()["webhook_endpoint"]
    return endpoint


async def test_create_get_list_update_delete(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    created = await create_endpoint(client, tenant_a, name="prod")
    assert created == {
        "lago_id": created["lago_id"],
        "lago_organization_id": str(tenant_a.organization_id),
        "webhook_url": URL,
        "signature_algo": "jwt",  # Lago's default
        "name": "prod",
        "event_types": None,
        "created_at": created["created_at"],
    }
    assert created["created_at"].endswith("Z")
    path = f"/api/v1/webhook_endpoints/{created['lago_id']}"
    got = await client.get(path, headers=tenant_a.headers)
    assert got.json() == {"webhook_endpoint": created}

    second = await create_endpoint(client, tenant_a, "http://127.0.0.1:9/x", signature_algo="hmac")
    listed = await client.get("/api/v1/webhook_endpoints?per_page=1", headers=tenant_a.headers)
    assert listed.json() == {
        "webhook_endpoints": [second],
        "meta": {
            "current_page": 1,
            "next_page": 2,
            "prev_page": None,
            "total_pages": 2,
            "total_count": 2,
        },
    }

    updated = await client.put(
        path,
        json={"webhook_endpoint": {"event_types": ["invoice.created", "invoice.created"]}},
        headers=tenant_a.headers,
    )
    assert updated.status_code == 200
    assert updated.json()["webhook_endpoint"] == created | {"event_types": ["invoice.created"]}
    moved = await client.put(
        path,
        json={"webhook_endpoint": {"webhook_url": "https://new.example.com", "name": None}},
        headers=tenant_a.headers,
    )
    body = moved.json()["webhook_endpoint"]
    assert (body["webhook_url"], body["name"]) == ("https://new.example.com", None)
    assert body["event_types"] == ["invoice.created"]
    reset = await client.put(
        path, json={"webhook_endpoint": {"event_types": None}}, headers=tenant_a.headers
    )
    assert reset.json()["webhook_endpoint"]["event_types"] is None  # every event again

    deleted = await client.delete(path, headers=tenant_a.headers)
    assert deleted.status_code == 200
    assert deleted.json()["webhook_endpoint"]["lago_id"] == created["lago_id"]
    gone = await client.get(path, headers=tenant_a.headers)
    assert gone.status_code == 404
    assert gone.json() == {
        "status": 404,
        "error": "Not Found",
        "code": "webhook_endpoint_not_found",
    }


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({}, {"webhook_url": ["value_is_mandatory"]}),
        ({"webhook_url": "ftp://example.com"}, {"webhook_url": ["url_invalid"]}),
        ({"webhook_url": "not a url"}, {"webhook_url": ["url_invalid"]}),
        ({"webhook_url": "https://"}, {"webhook_url": ["url_invalid"]}),
        ({"webhook_url": 12}, {"webhook_url": ["invalid_type"]}),
        ({"webhook_url": URL, "signature_algo": "md5"}, {"signature_algo": ["value_is_invalid"]}),
        ({"webhook_url": URL, "event_types": "all"}, {"event_types": ["invalid_type"]}),
        ({"webhook_url": URL, "event_types": ["Bad Type"]}, {"event_types": ["value_is_invalid"]}),
    ],
)
async def test_create_rejects_bad_input(
    client: httpx.AsyncClient, tenant_a: Tenant, fields: dict[str, Any], details: Any
) -> None:
    response = await client.post(
        "/api/v1/webhook_endpoints", json={"webhook_endpoint": fields}, headers=tenant_a.headers
    )
    assert response.status_code == 422
    assert response.json()["error_details"] == details


async def test_one_endpoint_per_url_and_ten_at_most(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    first = await create_endpoint(client, tenant_a)
    again = await client.post(
        "/api/v1/webhook_endpoints",
        json={"webhook_endpoint": {"webhook_url": URL}},
        headers=tenant_a.headers,
    )
    assert again.status_code == 422
    assert again.json()["error_details"] == {"webhook_url": ["value_already_exist"]}
    await create_endpoint(client, tenant_b)  # another organization may use the same URL

    for n in range(9):
        await create_endpoint(client, tenant_a, f"{URL}/{n}")
    eleventh = await client.post(
        "/api/v1/webhook_endpoints",
        json={"webhook_endpoint": {"webhook_url": f"{URL}/10"}},
        headers=tenant_a.headers,
    )
    assert eleventh.status_code == 422
    assert eleventh.json()["error_details"] == {"base": ["exceeded_limit"]}

    clash = await client.put(
        f"/api/v1/webhook_endpoints/{first['lago_id']}",
        json={"webhook_endpoint": {"webhook_url": f"{URL}/3"}},
        headers=tenant_a.headers,
    )
    assert clash.status_code == 422
    assert clash.json()["error_details"] == {"webhook_url": ["value_already_exist"]}


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({"webhook_url": None}, {"webhook_url": ["value_is_mandatory"]}),
        ({"webhook_url": "mailto:a@b.c"}, {"webhook_url": ["url_invalid"]}),
        ({"signature_algo": "rsa"}, {"signature_algo": ["value_is_invalid"]}),
    ],
)
async def test_update_rejects_bad_input(
    client: httpx.AsyncClient, tenant_a: Tenant, fields: dict[str, Any], details: Any
) -> None:
    endpoint = await create_endpoint(client, tenant_a)
    response = await client.put(
        f"/api/v1/webhook_endpoints/{endpoint['lago_id']}",
        json={"webhook_endpoint": fields},
        headers=tenant_a.headers,
    )
    assert response.status_code == 422
    assert response.json()["error_details"] == details


@pytest.mark.parametrize("lago_id", ["00000000-0000-4000-8000-00000000beef", "not-a-uuid"])
async def test_unknown_endpoints_are_404(
    client: httpx.AsyncClient, tenant_a: Tenant, lago_id: str
) -> None:
    path = f"/api/v1/webhook_endpoints/{lago_id}"
    body = {"webhook_endpoint": {"webhook_url": URL}}
    for response in (
        await client.get(path, headers=tenant_a.headers),
        await client.put(path, json=body, headers=tenant_a.headers),
        await client.delete(path, headers=tenant_a.headers),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "webhook_endpoint_not_found"


async def test_organizations_are_isolated(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    endpoint = await create_endpoint(client, tenant_a)
    path = f"/api/v1/webhook_endpoints/{endpoint['lago_id']}"
    assert (await client.get(path, headers=tenant_b.headers)).status_code == 404
    assert (await client.delete(path, headers=tenant_b.headers)).status_code == 404
    listed = await client.get("/api/v1/webhook_endpoints", headers=tenant_b.headers)
    assert listed.json()["webhook_endpoints"] == []
    assert (await client.get(path, headers=tenant_a.headers)).status_code == 200
    assert (await client.get("/api/v1/webhook_endpoints")).status_code == 401


async def test_signing_secret_is_made_once_per_organization(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    path = "/api/v1/webhook_endpoints/signing_secret"
    first = (await client.get(path, headers=tenant_a.headers)).json()["webhook_signing_secret"]
    again = (await client.get(path, headers=tenant_a.headers)).json()["webhook_signing_secret"]
    other = (await client.get(path, headers=tenant_b.headers)).json()["webhook_signing_secret"]
    assert first == again
    assert first["signature_algo"] == "hmac"
    assert len(first["secret"]) == 43  # 32 random bytes, URL-safe base64
    assert other["secret"] != first["secret"]
    async with sessions() as session:
        org = await session.get(Organization, tenant_a.organization_id)
        assert org is not None
        assert org.hmac_key == first["secret"]


async def test_a_secret_needs_an_organization(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        with pytest.raises(LookupError, match="does not exist"):
            await ensure_hmac_key(session, uuid.uuid4())


async def _ids(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, webhook_type: str, object_id: Any
) -> list[uuid.UUID]:
    async with transaction(sessions) as session:
        return await emit(
            session,
            tenant.organization_id,
            webhook_type,
            object_id,
            {"invoice": {"lago_id": str(object_id), "issuing_date": utcnow().date()}},
        )


async def test_emit_is_idempotent_per_endpoint_type_and_object(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    invoice = uuid.uuid4()
    assert await _ids(sessions, tenant_a, "invoice.created", invoice) == []  # no endpoint yet
    everything = await create_endpoint(client, tenant_a)
    await create_endpoint(client, tenant_a, f"{URL}/paid", event_types=["invoice.paid"])
    await create_endpoint(client, tenant_b)

    first = await _ids(sessions, tenant_a, "invoice.created", invoice)
    assert first == await _ids(sessions, tenant_a, "invoice.created", invoice)
    assert len(first) == 1
    assert len(await _ids(sessions, tenant_a, "invoice.paid", invoice)) == 2
    async with sessions() as session:
        rows = (await session.scalars(select(Webhook).where(Webhook.id.in_(first)))).all()
        total = await session.scalar(select(func.count()).select_from(Webhook))
    assert total == 3  # tenant_b's endpoint got nothing
    row = rows[0]
    assert str(row.webhook_endpoint_id) == everything["lago_id"]
    assert (row.status, row.retries, row.object_type, row.object_id) == (
        "pending",
        0,
        "invoice",
        invoice,
    )
    assert row.payload == {
        "webhook_type": "invoice.created",
        "object_type": "invoice",
        "organization_id": str(tenant_a.organization_id),
        "invoice": {"lago_id": str(invoice), "issuing_date": utcnow().date().isoformat()},
    }


async def test_deliveries_are_listed_with_their_attempts(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    endpoint = await create_endpoint(client, tenant_a)
    invoice, other = uuid.uuid4(), uuid.uuid4()
    [failed] = await _ids(sessions, tenant_a, "invoice.created", invoice)
    [pending] = await _ids(sessions, tenant_a, "invoice.created", other)
    async with transaction(sessions) as session:
        webhook = await session.get(Webhook, failed)
        assert webhook is not None
        webhook.status, webhook.http_status, webhook.retries = "failed", 500, 1
        for number in (2, 1):
            session.add(
                WebhookAttempt(
                    webhook_id=failed,
                    attempt=number,
                    http_status=500,
                    error="HTTP 500",
                    duration_ms=3,
                )
            )

    listed = await client.get("/api/v1/webhooks?status=failed", headers=tenant_a.headers)
    assert listed.status_code == 200
    [item] = listed.json()["webhooks"]
    assert item["lago_id"] == str(failed)
    assert item["lago_webhook_endpoint_id"] == endpoint["lago_id"]
    assert item["webhook_url"] == URL
    assert (item["status"], item["retries"], item["http_status"]) == ("failed", 1, 500)
    assert [a["attempt"] for a in item["attempts"]] == [1, 2]
    assert item["attempts"][0] | {"started_at": None} == {
        "attempt": 1,
        "started_at": None,
        "http_status": 500,
        "error": "HTTP 500",
        "duration_ms": 3,
    }
    assert item["payload"]["invoice"]["lago_id"] == str(invoice)
    assert listed.json()["meta"]["total_count"] == 1

    by_object = await client.get(f"/api/v1/webhooks?object_id={other}", headers=tenant_a.headers)
    assert [w["lago_id"] for w in by_object.json()["webhooks"]] == [str(pending)]
    query = f"webhook_type=invoice.created&webhook_endpoint_id={endpoint['lago_id']}"
    both = await client.get(f"/api/v1/webhooks?{query}", headers=tenant_a.headers)
    assert [w["lago_id"] for w in both.json()["webhooks"]] == [str(pending), str(failed)]
    none = await client.get("/api/v1/webhooks?webhook_type=invoice.paid", headers=tenant_a.headers)
    assert none.json()["webhooks"] == []

    one = await client.get(f"/api/v1/webhooks/{failed}", headers=tenant_a.headers)
    assert one.json()["webhook"] == item
    assert (await client.get(f"/api/v1/webhooks/{failed}", headers=tenant_b.headers)).json() == {
        "status": 404,
        "error": "Not Found",
        "code": "webhook_not_found",
    }
    assert (await client.get("/api/v1/webhooks", headers=tenant_b.headers)).json()["webhooks"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=lost", "status"), ("object_id=12", "object_id"), ("page=0", "page")],
)
async def test_delivery_filters_are_validated(
    client: httpx.AsyncClient, tenant_a: Tenant, query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/webhooks?{query}", headers=tenant_a.headers)
    assert response.status_code == 422
    assert list(response.json()["error_details"]) == [field]


async def test_only_failed_deliveries_can_be_retried(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_endpoint(client, tenant_a)
    [pending] = await _ids(sessions, tenant_a, "invoice.created", uuid.uuid4())
    response = await client.post(f"/api/v1/webhooks/{pending}/retry", headers=tenant_a.headers)
    assert response.status_code == 405
    assert response.json()["code"] == "webhook_not_failed"
    for lago_id in (uuid.uuid4(), "nope"):
        missing = await client.post(f"/api/v1/webhooks/{lago_id}/retry", headers=tenant_a.headers)
        assert missing.status_code == 404
        assert missing.json()["code"] == "webhook_not_found"


async def test_retry_answers_503_when_temporal_is_down(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_endpoint(client, tenant_a)
    [failed] = await _ids(sessions, tenant_a, "invoice.created", uuid.uuid4())
    async with transaction(sessions) as session:
        webhook = await session.get(Webhook, failed)
        assert webhook is not None
        webhook.status = "failed"
    response = await client.post(f"/api/v1/webhooks/{failed}/retry", headers=tenant_a.headers)
    assert response.status_code == 503
    async with sessions() as session:
        webhook = await session.get(Webhook, failed)
        assert webhook is not None
    # Pending again: the worker re-dispatches it when it starts.
    assert (webhook.status, webhook.manual_retries) == ("pending", 1)


async def call(function: Any, *args: Any) -> Any:
    # The server runs on this event loop; the sync client must not block it.
    return await asyncio.to_thread(function, *args)


async def test_lago_client_manages_webhook_endpoints(live_api: str, tenant_a: Tenant) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    created = await call(
        lago.webhook_endpoints.create,
        LagoWebhookEndpoint(webhook_url=URL, signature_algo="hmac", name="prod"),
    )
    assert (created.webhook_url, created.signature_algo, created.name) == (URL, "hmac", "prod")
    assert created.lago_organization_id == str(tenant_a.organization_id)
    found = await call(lago.webhook_endpoints.find, created.lago_id)
    assert found.lago_id == created.lago_id
    listed = await call(lago.webhook_endpoints.find_all)
    assert [e.lago_id for e in listed["webhook_endpoints"]] == [created.lago_id]
    assert listed["meta"]["total_count"] == 1
    updated = await call(
        lago.webhook_endpoints.update,
        LagoWebhookEndpoint(webhook_url=f"{URL}/v2", event_types=["invoice.created"]),
        created.lago_id,
    )
    assert (updated.webhook_url, updated.event_types) == (f"{URL}/v2", ["invoice.created"])
    deleted = await call(lago.webhook_endpoints.destroy, created.lago_id)
    assert deleted.lago_id == created.lago_id
    with pytest.raises(LagoApiError) as missing:
        await call(lago.webhook_endpoints.find, created.lago_id)
    assert missing.value.status_code == 404
    signed = await call(
        lago.webhook_endpoints.create,
        LagoWebhookEndpoint(webhook_url=URL, signature_algo="jwt"),
    )
    assert signed.signature_algo == "jwt"
