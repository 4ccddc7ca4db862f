"""Plan and credit note metadata routes (replace, merge, delete all, delete a key) and the
credit note PDF, in Lago's shapes; another organization reaches none of it."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import CreditNote, Plan
from tests.support.auth import Tenant
from tests.support.credit_notes import DEFAULT_TOTAL, seed_invoice
from tests.support.lago_schema import lago_errors
from tests.support.plan_catalog import catalog


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


async def _credit_note(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> str:
    invoice = await seed_invoice(sessions, tenant, paid=DEFAULT_TOTAL)
    payload = {
        "credit_note": {
            "invoice_id": str(invoice.id),
            "reason": "order_change",
            "description": "Downgrade",
            "credit_amount_cents": 400,
            "refund_amount_cents": 5_000,
            "items": [{"fee_id": str(invoice.fee_ids[0]), "amount_cents": 5_000}],
            "metadata": {"source": "support"},
        }
    }
    response = await client.post("/api/v1/credit_notes", json=payload, headers=tenant.headers)
    assert response.status_code == 200, response.text
    lago_id: str = response.json()["credit_note"]["lago_id"]
    return lago_id


async def _stored(
    sessions: async_sessionmaker[AsyncSession], model: type[Plan | CreditNote], key: Any
) -> Any:
    async with sessions() as session:
        row: Plan | CreditNote | None = await session.get(model, key)
        assert row is not None
        return row.metadata_


@pytest.mark.parametrize("owner", ["plan", "credit_note"])
async def test_metadata_is_replaced_merged_and_deleted(
    owner: str,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    model: type[Plan | CreditNote]
    if owner == "plan":
        made = await catalog(client, tenant_a)
        url, model, key = "/api/v1/plans/pro/metadata", Plan, made["plan"]["lago_id"]
        schema = "PlanMetadataResponse"
    else:
        key = await _credit_note(client, sessions, tenant_a)
        url, model = f"/api/v1/credit_notes/{key}/metadata", CreditNote
        schema = "CreditNoteMetadataResponse"
    h = tenant_a.headers

    async def answer(method: str, path: str, body: Any = None) -> Any:
        response = await client.request(method, path, json=body, headers=h)
        assert response.status_code == 200, response.text
        assert lago_errors(schema, response.json()) == []
        return response.json()["metadata"]

    replaced = await answer("POST", url, {"metadata": {"a": "1", "b": None}})
    assert replaced == {"a": "1", "b": None}
    merged = await answer("PATCH", url, {"metadata": {"b": "2", "c": "3"}})
    assert merged == {"a": "1", "b": "2", "c": "3"}
    assert await _stored(sessions, model, key) == merged
    assert await answer("DELETE", f"{url}/b") == {"a": "1", "c": "3"}
    assert await answer("DELETE", f"{url}/missing") == {"a": "1", "c": "3"}
    shown_path = url.removesuffix("/metadata")
    shown = (await client.get(shown_path, headers=h)).json()
    assert shown[owner]["metadata"] == {"a": "1", "c": "3"}  # the object shows it too
    assert await answer("DELETE", url) is None
    assert await _stored(sessions, model, key) is None
    no_metadata = await client.delete(f"{url}/a", headers=h)
    assert (no_metadata.status_code, no_metadata.json()["code"]) == (404, "metadata_not_found")

    # Bad input: Lago's 422 with field codes, nothing stored.
    await answer("POST", url, {"metadata": {"kept": "yes"}})
    for body, details in [
        ({"metadata": {"k": "x" * 256}}, {"metadata": ["value_is_too_long"]}),
        ({"metadata": {"k" * 101: "x"}}, {"metadata": ["invalid_key"]}),
        ({"metadata": {"k": 3}}, None),
        ({"metadata": "nope"}, None),
        ({}, None),
    ]:
        for method in ("POST", "PATCH"):
            bad = await client.request(method, url, json=body, headers=h)
            assert bad.status_code == 422, (method, body, bad.text)
            assert bad.json()["code"] == "validation_errors"
            if details is not None:
                assert bad.json()["error_details"] == details
            assert bad.json()["error_details"], bad.json()
    assert await _stored(sessions, model, key) == {"kept": "yes"}

    # Another organization: 404, and nothing changes.
    for method, path, body in [
        ("POST", url, {"metadata": {"x": "y"}}),
        ("PATCH", url, {"metadata": {"x": "y"}}),
        ("DELETE", url, None),
        ("DELETE", f"{url}/kept", None),
    ]:
        response = await client.request(method, path, json=body, headers=tenant_b.headers)
        assert (response.status_code, response.json()["code"]) == (404, f"{owner}_not_found")
    assert await _stored(sessions, model, key) == {"kept": "yes"}


async def test_credit_note_download_answers_the_note_and_serves_its_pdf(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> None:
    lago_id = await _credit_note(client, sessions, tenant_a)
    response = await client.post(
        f"/api/v1/credit_notes/{lago_id}/download", headers=tenant_a.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    shown = (await client.get(f"/api/v1/credit_notes/{lago_id}", headers=tenant_a.headers)).json()
    assert lago_errors("CreditNote", body) == lago_errors("CreditNote", shown)
    file_url = body["credit_note"]["file_url"]
    assert file_url.endswith(f"/api/v1/credit_notes/{lago_id}/download")
    pdf = await client.get(file_url, headers=tenant_a.headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    number = body["credit_note"]["number"]
    assert number in pdf.headers["content-disposition"]
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Credit note" in text
    assert number in text
    assert "54.00" in text  # the total: 5 000 credited, coupon and 20 % tax adjusted
    assert "Refunded" in text

    for method in ("POST", "GET"):
        for note_id in (lago_id, "not-a-uuid"):
            other = await client.request(
                method, f"/api/v1/credit_notes/{note_id}/download", headers=tenant_b.headers
            )
            assert (other.status_code, other.json()["code"]) == (404, "credit_note_not_found")


async def test_the_lago_client_drives_metadata_and_download(
    live_api: str,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    await catalog(client, tenant_a)
    note_id = await _credit_note(client, sessions, tenant_a)
    for resource, key in ((lago.plans, "pro"), (lago.credit_notes, note_id)):
        assert await call(resource.replace_metadata, key, {"a": "1"}) == {"a": "1"}
        assert await call(resource.merge_metadata, key, {"b": None}) == {"a": "1", "b": None}
        assert await call(resource.delete_metadata_key, key, "a") == {"b": None}
        assert await call(resource.delete_all_metadata, key) is None
    note = await call(lago.credit_notes.download, note_id)
    assert note.file_url.endswith("/download")
    with pytest.raises(LagoApiError) as missing:
        await call(lago.plans.replace_metadata, "nope", {"a": "1"})
    assert missing.value.status_code == 404


async def test_plans_take_metadata_on_create_and_update(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    plan = {
        "name": "Basic",
        "code": "basic",
        "interval": "monthly",
        "amount_cents": 100,
        "amount_currency": "USD",
        "metadata": {"crm": "42", "note": None},
    }
    h = tenant_a.headers
    created = await client.post("/api/v1/plans", json={"plan": plan}, headers=h)
    assert created.status_code == 200, created.text
    # The plan object's other gaps are the conformance test's; its metadata conforms.
    assert [e for e in lago_errors("Plan", created.json()) if "metadata" in e] == []
    assert created.json()["plan"]["metadata"] == {"crm": "42", "note": None}
    kept = await client.put("/api/v1/plans/basic", json={"plan": {"name": "B"}}, headers=h)
    assert kept.json()["plan"]["metadata"] == {"crm": "42", "note": None}
    replaced = await client.put(
        "/api/v1/plans/basic", json={"plan": {"metadata": {"crm": "43"}}}, headers=h
    )
    assert replaced.json()["plan"]["metadata"] == {"crm": "43"}
    bad = await client.put(
        "/api/v1/plans/basic", json={"plan": {"metadata": {"crm": "x" * 256}}}, headers=h
    )
    assert (bad.status_code, bad.json()["error_details"]) == (
        422,
        {"metadata": ["value_is_too_long"]},
    )
    shown = await client.get("/api/v1/plans/basic", headers=h)
    assert shown.json()["plan"]["metadata"] == {"crm": "43"}
