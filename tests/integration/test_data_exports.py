"""CSV data exports end to end: the API, the workflow on the real Temporal dev server, the
file streamed back from PostgreSQL, the webhook queued."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.core.db import transaction
from bxb.exports.service import start_data_export
from bxb.models import DataExport, Event, Webhook
from tests.support.auth import Tenant
from tests.support.credit_notes import seed_customer, seed_invoice
from tests.support.data_exports import URL, exported, finished

pytestmark = pytest.mark.usefixtures("worker")


async def _listen(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"webhook_endpoint": {"webhook_url": "http://127.0.0.1:9/hooks"}}
    response = await client.post("/api/v1/webhook_endpoints", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text


async def test_invoices_and_fees_row_for_row_with_the_webhook(
    temporal_client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _listen(temporal_client, tenant_a)
    eur = await seed_invoice(sessions, tenant_a, customer="cus_eur", fees=((1999, 0, 400, "20"),))
    await seed_invoice(sessions, tenant_a, customer="cus_usd", currency="USD")
    await seed_invoice(sessions, tenant_b, customer="cus_eur")  # another organization's

    export, rows = await exported(
        temporal_client, tenant_a, "invoices", {"external_customer_id": "cus_eur"}
    )
    assert export["rows_exported"] == 1
    assert export["rows_estimate"] == 1
    assert export["progress"] == 1.0
    assert export["completed_at"] is not None
    assert export["file_url"].endswith(f"/api/v1/data_exports/{export['lago_id']}/file")
    assert [row["lago_id"] for row in rows] == [str(eur.id)]
    (row,) = rows
    assert row["number"] == eur.number
    assert row["external_customer_id"] == "cus_eur"
    assert (row["fees_amount_cents"], row["taxes_amount_cents"]) == ("1999", "400")
    assert (row["total_amount_cents"], row["currency"]) == ("2399", "EUR")
    assert row["issuing_date"] == "2026-01-01"
    assert row["created_at"].endswith("Z")

    _, fees = await exported(temporal_client, tenant_a, "fees", {"currency": "USD"})
    assert sorted(
        (f["amount_cents"], f["taxes_amount_cents"], f["total_amount_cents"]) for f in fees
    ) == [
        ("10000", "1800", "11800"),
        ("333", "18", "351"),
    ]
    assert {f["currency"] for f in fees} == {"USD"}
    assert {f["units"] for f in fees} == {"1"}

    async with sessions() as session:
        hooks = (
            await session.scalars(
                select(Webhook).where(Webhook.webhook_type == "data_export.succeeded")
            )
        ).all()
    assert {hook.object_id for hook in hooks} >= {uuid.UUID(export["lago_id"])}
    assert all(hook.organization_id == tenant_a.organization_id for hook in hooks)
    payload = next(h.payload for h in hooks if str(h.object_id) == export["lago_id"])
    assert payload["data_export"]["status"] == "completed"


async def test_credit_notes_customers_and_events(
    temporal_client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    invoice = await seed_invoice(sessions, tenant_a, customer="cus_1", fees=((1000, 0, 200, "20"),))
    body = {
        "credit_note": {
            "invoice_id": str(invoice.id),
            "reason": "other",
            "credit_amount_cents": 1200,
            "refund_amount_cents": 0,
            "items": [{"fee_id": str(invoice.fee_ids[0]), "amount_cents": 1000}],
        }
    }
    note = await temporal_client.post("/api/v1/credit_notes", json=body, headers=tenant_a.headers)
    assert note.status_code == 200, note.text
    other = await seed_invoice(sessions, tenant_a, customer="cus_3", fees=((500, 0, 0, "0"),))
    other_body = {
        "credit_note": {
            "invoice_id": str(other.id),
            "reason": "other",
            "credit_amount_cents": 500,
            "refund_amount_cents": 0,
            "items": [{"fee_id": str(other.fee_ids[0]), "amount_cents": 500}],
        }
    }
    response = await temporal_client.post(
        "/api/v1/credit_notes", json=other_body, headers=tenant_a.headers
    )
    assert response.status_code == 200, response.text
    filters = {"reason": "other", "invoice_number": invoice.number, "external_customer_id": "cus_1"}
    _, notes = await exported(temporal_client, tenant_a, "credit_notes", filters)
    (row,) = notes
    assert row["lago_id"] == note.json()["credit_note"]["lago_id"]
    assert (row["credit_amount_cents"], row["total_amount_cents"]) == ("1200", "1200")
    assert row["invoice_number"] == invoice.number
    assert row["external_customer_id"] == "cus_1"

    await seed_customer(sessions, tenant_a, "cus_2")
    await seed_customer(sessions, tenant_b, "cus_b")
    _, customers = await exported(temporal_client, tenant_a, "customers", {"currencies": ["eur"]})
    assert sorted(c["external_id"] for c in customers) == ["cus_1", "cus_2", "cus_3"]

    start = datetime(2026, 3, 1, tzinfo=UTC)
    async with transaction(sessions) as session:
        for tenant in (tenant_a, tenant_b):
            for i in range(5):
                session.add(
                    Event(
                        organization_id=tenant.organization_id,
                        transaction_id=f"tx_{i}",
                        external_subscription_id="sub_1" if i < 4 else "sub_2",
                        code="api_calls",
                        timestamp=start + timedelta(hours=i),
                        properties={"count": i},
                        precise_total_amount_cents=Decimal("12.50") if i == 0 else None,
                    )
                )
    export, events = await exported(
        temporal_client,
        tenant_a,
        "events",
        {"external_subscription_id": "sub_1", "timestamp_from": "2026-03-01T01:00:00Z"},
    )
    assert [e["transaction_id"] for e in events] == ["tx_1", "tx_2", "tx_3"]
    assert events[0]["timestamp"] == "2026-03-01T01:00:00Z"
    assert events[0]["properties"] == '{"count":1}'
    assert export["filters"] == {
        "external_subscription_id": "sub_1",
        "timestamp_from": "2026-03-01T01:00:00Z",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"resource_type": "plans"}, "resource_type"),
        ({"resource_type": "invoices", "format": "xlsx"}, "format"),
        ({"resource_type": "invoices", "filters": {"nope": 1}}, "filters.nope"),
        (
            {"resource_type": "invoices", "filters": {"statuses": ["draft"] * 101}},
            "filters.statuses",
        ),
        (
            {"resource_type": "customers", "filters": {"countries": ["FR"] * 101}},
            "filters.countries",
        ),
        (
            {"resource_type": "fees", "filters": {"created_at_from": "yesterday"}},
            "filters.created_at_from",
        ),
        (
            {"resource_type": "invoices", "filters": {"issuing_date_to": "2026-13-01"}},
            "filters.issuing_date_to",
        ),
        ({"resource_type": "events", "filters": {"code": "x" * 256}}, "filters.code"),
    ],
)
async def test_bad_input_is_a_422_with_no_export(
    temporal_client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    body: dict[str, object],
    field: str,
) -> None:
    response = await temporal_client.post(URL, json={"data_export": body}, headers=tenant_a.headers)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "validation_errors"
    assert error["status"] == 422
    assert field in error["error_details"], error
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DataExport)) == 0


async def test_another_organization_sees_nothing(
    temporal_client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    export, _ = await exported(temporal_client, tenant_a, "customers", {})
    lago_id = export["lago_id"]
    for path in (f"{URL}/{lago_id}", f"{URL}/{lago_id}/file"):
        response = await temporal_client.get(path, headers=tenant_b.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "data_export_not_found"
    listing = await temporal_client.get(URL, headers=tenant_b.headers)
    assert listing.json()["data_exports"] == []
    assert listing.json()["meta"]["total_count"] == 0
    mine = await temporal_client.get(URL, headers=tenant_a.headers)
    assert [e["lago_id"] for e in mine.json()["data_exports"]] == [lago_id]
    assert (await temporal_client.get(f"{URL}/nope", headers=tenant_a.headers)).status_code == 404


async def test_file_before_completion_is_409_and_progress_is_visible(
    temporal_client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from bxb.exports import runner

    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with transaction(sessions) as session:
        session.add_all(
            Event(
                organization_id=tenant_a.organization_id,
                transaction_id=f"tx_{i:06d}",
                external_subscription_id="sub_1",
                code="api_calls",
                timestamp=start + timedelta(seconds=i),
                properties={"n": i, "pad": "x" * 200},
            )
            for i in range(12_000)
        )
    body = {"data_export": {"resource_type": "events", "format": "csv"}}
    response = await temporal_client.post(URL, json=body, headers=tenant_a.headers)
    lago_id = response.json()["data_export"]["lago_id"]
    early = await temporal_client.get(f"{URL}/{lago_id}/file", headers=tenant_a.headers)
    assert early.status_code == 409
    assert early.json()["code"] == "data_export_not_ready"
    seen: set[int] = set()
    export = response.json()["data_export"]
    while export["status"] not in ("completed", "failed"):
        export = (await temporal_client.get(f"{URL}/{lago_id}", headers=tenant_a.headers)).json()[
            "data_export"
        ]
        if export["status"] == "processing":
            seen.add(export["rows_exported"])
    export = await finished(temporal_client, tenant_a, lago_id)
    assert export["rows_exported"] == 12_000
    assert export["file_size"] > 2 * runner.CHUNK_CHARS
    assert any(0 < rows < 12_000 for rows in seen), seen  # chunks committed with progress
    async with sessions() as session:
        stored = await session.get(DataExport, uuid.UUID(lago_id))
        assert stored is not None
        assert stored.chunks_count >= 3


async def test_an_export_that_cannot_run_fails_with_its_webhook(
    temporal_client: httpx.AsyncClient,
    temporal_env: WorkflowEnvironment,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Filters that no longer parse (written before a filter was removed, say): failed at
    once, not retried, and data_export.failed is queued."""
    await _listen(temporal_client, tenant_a)
    async with transaction(sessions) as session:
        export = DataExport(
            organization_id=tenant_a.organization_id,
            resource_type="invoices",
            filters={"removed_filter": 1},
            status="pending",
            rows_exported=0,
            chunks_count=0,
            file_size=0,
        )
        session.add(export)
    await start_data_export(temporal_env.client, export.id)
    failed = await finished(temporal_client, tenant_a, str(export.id), seconds=20)
    assert failed["status"] == "failed"
    assert "validation error for InvoiceFilters" in failed["error"]
    assert failed["file_url"] is None
    gone = await temporal_client.get(f"{URL}/{export.id}/file", headers=tenant_a.headers)
    assert gone.status_code == 409
    async with sessions() as session:
        hook = await session.scalar(
            select(Webhook).where(
                Webhook.object_id == export.id, Webhook.webhook_type == "data_export.failed"
            )
        )
    assert hook is not None
    assert hook.payload["data_export"]["status"] == "failed"
