"""/api/v1/credit_notes in Lago's shapes, with its limits on what can be credited."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.core.temporal import TemporalConnector
from bxb.models import CreditNote, TestClock, Webhook, WebhookEndpoint
from bxb.webhooks import outbox
from tests.support.auth import Tenant
from tests.support.credit_notes import DEFAULT_TOTAL, SeededInvoice, seed_customer, seed_invoice

URL = "/api/v1/credit_notes"


def body(invoice: SeededInvoice, items: list[tuple[int, int]], **fields: Any) -> dict[str, Any]:
    """A create body: items as (fee index, amount)."""
    return {
        "credit_note": {
            "invoice_id": str(invoice.id),
            "items": [
                {"fee_id": str(invoice.fee_ids[index]), "amount_cents": amount}
                for index, amount in items
            ],
            **fields,
        }
    }


async def create(
    client: httpx.AsyncClient, tenant: Tenant, payload: dict[str, Any]
) -> httpx.Response:
    return await client.post(URL, json=payload, headers=tenant.headers)


async def created(
    client: httpx.AsyncClient, tenant: Tenant, payload: dict[str, Any]
) -> dict[str, Any]:
    response = await create(client, tenant, payload)
    assert response.status_code == 200, response.text
    note: dict[str, Any] = response.json()["credit_note"]
    return note


async def test_create_returns_lagos_credit_note(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    invoice = await seed_invoice(sessions, tenant_a, paid=DEFAULT_TOTAL)
    # 5 000 of the 10 000 fee: 500 of its coupon off, 20 % on 4 500 = 900; total 5 400.
    note = await created(
        client,
        tenant_a,
        body(
            invoice,
            [(0, 5_000)],
            reason="product_unsatisfactory",
            description="Half a month down",
            credit_amount_cents=400,
            refund_amount_cents=5_000,
            metadata={"ticket": "T-1"},
        ),
    )
    async with sessions() as session:
        row = await session.scalar(select(CreditNote))
    assert row is not None
    assert note["lago_id"] == str(row.id)
    assert note["number"] == f"{invoice.number}-CN1"
    assert note["sequential_id"] == 1
    assert note["lago_invoice_id"] == str(invoice.id)
    assert note["invoice_number"] == invoice.number
    assert note["issuing_date"] == row.created_at.date().isoformat()
    assert note["reason"] == "product_unsatisfactory"
    assert note["description"] == "Half a month down"
    assert (note["credit_status"], note["refund_status"]) == ("available", "pending")
    assert note["currency"] == "EUR"
    amounts = {
        key: note[key]
        for key in (
            "total_amount_cents",
            "taxes_amount_cents",
            "sub_total_excluding_taxes_amount_cents",
            "coupons_adjustment_amount_cents",
            "credit_amount_cents",
            "refund_amount_cents",
            "balance_amount_cents",
            "offset_amount_cents",
        )
    }
    assert amounts == {
        "total_amount_cents": 5_400,
        "taxes_amount_cents": 900,
        "sub_total_excluding_taxes_amount_cents": 4_500,
        "coupons_adjustment_amount_cents": 500,
        "credit_amount_cents": 400,
        "refund_amount_cents": 5_000,
        "balance_amount_cents": 400,
        "offset_amount_cents": 0,
    }
    assert note["taxes_rate"] == 20.0
    assert note["metadata"] == {"ticket": "T-1"}
    assert note["file_url"] is None
    (item,) = note["items"]
    assert item["amount_cents"] == 5_000
    assert item["amount_currency"] == "EUR"
    assert item["fee"]["lago_id"] == str(invoice.fee_ids[0])
    assert item["fee"]["amount_cents"] == 10_000
    (tax,) = note["applied_taxes"]
    assert (tax["tax_code"], tax["amount_cents"], tax["base_amount_cents"]) == (
        "tax_20",
        900,
        4_500,
    )
    assert tax["lago_credit_note_id"] == note["lago_id"]
    assert note["customer"]["external_id"] == "cus_1"
    got = await client.get(f"{URL}/{note['lago_id']}", headers=tenant_a.headers)
    assert got.json() == {"credit_note": note}


async def test_notes_are_numbered_per_invoice(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await seed_invoice(sessions, tenant_a)
    second = await seed_invoice(sessions, tenant_a)
    a1 = await created(client, tenant_a, body(first, [(1, 100)], credit_amount_cents=106))
    # Each note's tax is rounded once on its own, as Lago does: 5.5 → 6 again (issue 10).
    a2 = await created(client, tenant_a, body(first, [(1, 100)], credit_amount_cents=106))
    b1 = await created(client, tenant_a, body(second, [(1, 10)], credit_amount_cents=11))
    assert [a1["number"], a2["number"], b1["number"]] == [
        f"{first.number}-CN1",
        f"{first.number}-CN2",
        f"{second.number}-CN1",
    ]
    # Each note's taxes are its items' precise taxes rounded once, as Lago does: 5.5 on 100
    # → 6, and 6 again for the second 100 (the fee's 18 of tax still caps the total).
    assert (a1["taxes_amount_cents"], a2["taxes_amount_cents"]) == (6, 6)


async def test_a_fee_is_never_credited_beyond_its_amount(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    invoice = await seed_invoice(sessions, tenant_a)
    await created(client, tenant_a, body(invoice, [(1, 300)], credit_amount_cents=317))
    too_much = await create(client, tenant_a, body(invoice, [(1, 34)], credit_amount_cents=36))
    assert too_much.status_code == 422
    assert too_much.json()["error_details"] == {
        "amount_cents": ["higher_than_remaining_fee_amount"]
    }
    rest = await created(client, tenant_a, body(invoice, [(1, 33)], credit_amount_cents=34))
    # 18 of taxes in all on the fee: 17 then the last 1.
    assert rest["taxes_amount_cents"] == 1
    full = await created(client, tenant_a, body(invoice, [(0, 10_000)], credit_amount_cents=10_800))
    assert full["total_amount_cents"] == 10_800
    async with sessions() as session:
        notes = list(await session.scalars(select(CreditNote)))
    assert sum(n.total_amount_cents for n in notes) == DEFAULT_TOTAL


async def test_the_split_must_match_and_refunds_stay_within_payments(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    invoice = await seed_invoice(sessions, tenant_a, paid=1_000)
    mismatch = await create(client, tenant_a, body(invoice, [(0, 1_000)], credit_amount_cents=1))
    assert mismatch.status_code == 422
    assert mismatch.json()["error_details"] == {"base": ["does_not_match_item_amounts"]}
    # 1 000 of the fee is worth 1 080; only 1 000 was paid.
    refund = await create(client, tenant_a, body(invoice, [(0, 1_000)], refund_amount_cents=1_080))
    assert refund.status_code == 422
    assert refund.json()["error_details"] == {
        "refund_amount_cents": ["higher_than_remaining_invoice_amount"]
    }
    await created(
        client,
        tenant_a,
        body(invoice, [(0, 1_000)], refund_amount_cents=700, credit_amount_cents=380),
    )
    again = await create(client, tenant_a, body(invoice, [(0, 1_000)], refund_amount_cents=1_080))
    assert again.json()["error_details"] == {
        "refund_amount_cents": ["higher_than_remaining_invoice_amount"]
    }
    ok = await created(
        client,
        tenant_a,
        body(invoice, [(0, 1_000)], refund_amount_cents=300, credit_amount_cents=780),
    )
    assert (ok["refund_amount_cents"], ok["credit_amount_cents"]) == (300, 780)
    zero = await create(client, tenant_a, body(invoice, [(0, 0)], credit_amount_cents=0))
    assert zero.json()["error_details"] == {"base": ["invalid_amount"]}
    offset = await create(
        client, tenant_a, body(invoice, [(0, 10)], credit_amount_cents=11, offset_amount_cents=5)
    )
    assert offset.json()["error_details"] == {"offset_amount_cents": ["value_is_invalid"]}


async def test_only_finalized_invoices_and_their_own_fees(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    draft = await seed_invoice(sessions, tenant_a, status="draft")
    voided = await seed_invoice(sessions, tenant_a, status="voided")
    top_up = await seed_invoice(sessions, tenant_a, invoice_type="credit", paid=DEFAULT_TOTAL)
    for invoice in (draft, voided, top_up):
        response = await create(client, tenant_a, body(invoice, [(1, 1)], credit_amount_cents=1))
        assert response.status_code == 405
        assert response.json() == {
            "status": 405,
            "error": "Method Not Allowed",
            "code": "invalid_type_or_status",
        }
    invoice = await seed_invoice(sessions, tenant_a)
    foreign = body(invoice, [(1, 1)], credit_amount_cents=1)
    foreign["credit_note"]["items"][0]["fee_id"] = str(draft.fee_ids[1])
    response = await create(client, tenant_a, foreign)
    assert (response.status_code, response.json()["code"]) == (404, "fee_not_found")
    foreign["credit_note"]["items"][0]["fee_id"] = "not-a-uuid"
    response = await create(client, tenant_a, foreign)
    assert (response.status_code, response.json()["code"]) == (404, "fee_not_found")
    for invoice_id in (str(uuid.uuid4()), "nope"):
        unknown = body(invoice, [(1, 1)], credit_amount_cents=1)
        unknown["credit_note"]["invoice_id"] = invoice_id
        response = await create(client, tenant_a, unknown)
        assert (response.status_code, response.json()["code"]) == (404, "invoice_not_found")


async def test_bad_input_is_a_lago_422(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    invoice = await seed_invoice(sessions, tenant_a)
    cases: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
        ({"credit_note": {"invoice_id": str(invoice.id)}}, {"items": ["value_is_mandatory"]}),
        (
            {"credit_note": {"invoice_id": str(invoice.id), "items": []}},
            {"items": ["value_is_invalid"]},
        ),
        (body(invoice, [(0, -5)]), {"items.0.amount_cents": ["value_is_invalid"]}),
        (body(invoice, [(0, 5)], reason="bored"), {"reason": ["value_is_invalid"]}),
        (
            body(invoice, [(0, 5)], credit_amount_cents="x"),
            {"credit_amount_cents": ["invalid_type"]},
        ),
        ({"credit_note": "nope"}, {"credit_note": ["value_is_invalid"]}),
    ]
    for payload, details in cases:
        response = await create(client, tenant_a, payload)
        assert response.status_code == 422, payload
        assert response.json()["error_details"] == details, payload


async def test_concurrent_notes_cannot_exceed_the_invoice(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    invoice = await seed_invoice(sessions, tenant_a)
    payload = body(invoice, [(0, 10_000)], credit_amount_cents=10_800)
    responses = await asyncio.gather(*(create(client, tenant_a, payload) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [200, 422, 422, 422]


async def test_issuing_date_is_the_customers_local_day_on_its_clock(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(sessions) as session:
        clock = TestClock(
            organization_id=tenant_a.organization_id,
            name="clock",
            frozen_time=datetime(2030, 3, 1, 2, 0, tzinfo=UTC),
        )
        session.add(clock)
        await session.flush()
        clock_id = clock.id
    await seed_customer(
        sessions, tenant_a, "cus_ny", test_clock_id=clock_id, timezone="America/New_York"
    )
    invoice = await seed_invoice(sessions, tenant_a, customer="cus_ny")
    note = await created(client, tenant_a, body(invoice, [(1, 1)], credit_amount_cents=1))
    assert note["issuing_date"] == "2030-02-28"  # 21:00 the day before in New York


async def test_list_filters_and_customer_list(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await seed_invoice(sessions, tenant_a, paid=DEFAULT_TOTAL)
    other = await seed_invoice(sessions, tenant_a, customer="cus_2")
    refund = await created(
        client,
        tenant_a,
        body(first, [(0, 1_000)], refund_amount_cents=1_080, reason="duplicated_charge"),
    )
    credit = await created(client, tenant_a, body(other, [(1, 333)], credit_amount_cents=351))

    async def ids(path: str = URL, **params: Any) -> list[str]:
        response = await client.get(path, params=params, headers=tenant_a.headers)
        assert response.status_code == 200, response.text
        return [note["lago_id"] for note in response.json()["credit_notes"]]

    assert await ids() == [credit["lago_id"], refund["lago_id"]]
    assert await ids(external_customer_id="cus_2") == [credit["lago_id"]]
    assert await ids(reason="duplicated_charge") == [refund["lago_id"]]
    assert await ids(credit_status="available") == [credit["lago_id"]]
    assert await ids(refund_status="pending") == [refund["lago_id"]]
    assert await ids(invoice_number=first.number) == [refund["lago_id"]]
    assert await ids(amount_from=400) == [refund["lago_id"]]
    assert await ids(amount_to=400) == [credit["lago_id"]]
    assert await ids(currency="eur") == [credit["lago_id"], refund["lago_id"]]
    today = refund["issuing_date"]
    assert await ids(issuing_date_from=today, issuing_date_to=today) == await ids()
    assert await ids(issuing_date_to="2000-01-01") == []
    assert await ids("/api/v1/customers/cus_1/credit_notes") == [refund["lago_id"]]
    assert await ids("/api/v1/customers/cus_2/credit_notes", reason="other") == [credit["lago_id"]]
    page = await client.get(URL, params={"per_page": 1}, headers=tenant_a.headers)
    assert page.json()["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 2,
    }
    bad = await client.get(URL, params={"credit_status": "gone"}, headers=tenant_a.headers)
    assert bad.status_code == 422
    missing = await client.get("/api/v1/customers/nobody/credit_notes", headers=tenant_a.headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "customer_not_found")


async def test_refund_status_updates_and_voiding(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    invoice = await seed_invoice(sessions, tenant_a, paid=DEFAULT_TOTAL)
    note = await created(
        client,
        tenant_a,
        body(invoice, [(0, 1_000)], refund_amount_cents=80, credit_amount_cents=1_000),
    )
    path = f"{URL}/{note['lago_id']}"
    updated = await client.put(
        path, json={"credit_note": {"refund_status": "succeeded"}}, headers=tenant_a.headers
    )
    assert updated.status_code == 200
    assert updated.json()["credit_note"]["refund_status"] == "succeeded"
    assert updated.json()["credit_note"]["refunded_at"] is not None
    bad = await client.put(
        path, json={"credit_note": {"refund_status": "lost"}}, headers=tenant_a.headers
    )
    assert bad.json()["error_details"] == {"refund_status": ["value_is_invalid"]}
    voided = await client.put(f"{path}/void", headers=tenant_a.headers)
    assert voided.status_code == 200
    data = voided.json()["credit_note"]
    assert (data["credit_status"], data["balance_amount_cents"]) == ("voided", 0)
    assert data["credit_amount_cents"] == 1_000
    again = await client.post(f"{path}/void", headers=tenant_a.headers)
    assert again.status_code == 405
    assert again.json()["code"] == "no_voidable_amount"
    # Voiding gives up the credit; it does not make the fee creditable again.
    response = await create(client, tenant_a, body(invoice, [(0, 9_001)], credit_amount_cents=1))
    assert response.json()["error_details"] == {
        "amount_cents": ["higher_than_remaining_fee_amount"]
    }

    credit_only = await created(client, tenant_a, body(invoice, [(1, 10)], credit_amount_cents=11))
    refused = await client.put(
        f"{URL}/{credit_only['lago_id']}",
        json={"credit_note": {"refund_status": "succeeded"}},
        headers=tenant_a.headers,
    )
    assert refused.json()["error_details"] == {"refund_status": ["value_is_invalid"]}
    meta = await client.put(
        f"{URL}/{credit_only['lago_id']}",
        json={"credit_note": {"metadata": {"k": "v"}}},
        headers=tenant_a.headers,
    )
    assert meta.json()["credit_note"]["metadata"] == {"k": "v"}


async def test_estimate_stores_nothing(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    invoice = await seed_invoice(sessions, tenant_a, paid=2_000)
    payload = body(invoice, [(0, 5_000), (1, 333)])
    response = await client.post(f"{URL}/estimate", json=payload, headers=tenant_a.headers)
    assert response.status_code == 200, response.text
    estimate = response.json()["estimated_credit_note"]
    assert estimate["lago_invoice_id"] == str(invoice.id)
    assert estimate["invoice_number"] == invoice.number
    assert estimate["coupons_adjustment_amount_cents"] == 500
    assert estimate["sub_total_excluding_taxes_amount_cents"] == 4_833
    assert estimate["taxes_amount_cents"] == 918
    assert estimate["max_creditable_amount_cents"] == 5_751
    assert estimate["max_refundable_amount_cents"] == 2_000
    assert estimate["items"] == [
        {"lago_fee_id": str(invoice.fee_ids[0]), "amount_cents": 5_000},
        {"lago_fee_id": str(invoice.fee_ids[1]), "amount_cents": 333},
    ]
    assert sum(tax["amount_cents"] for tax in estimate["applied_taxes"]) == 918
    async with sessions() as session:
        assert await session.scalar(select(CreditNote)) is None
    too_much = body(invoice, [(1, 334)])
    response = await client.post(f"{URL}/estimate", json=too_much, headers=tenant_a.headers)
    assert response.status_code == 422


async def test_organizations_are_isolated(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    invoice = await seed_invoice(sessions, tenant_a)
    note = await created(client, tenant_a, body(invoice, [(1, 1)], credit_amount_cents=1))
    other = await create(client, tenant_b, body(invoice, [(1, 1)], credit_amount_cents=1))
    assert (other.status_code, other.json()["code"]) == (404, "invoice_not_found")
    path = f"{URL}/{note['lago_id']}"
    for response in (
        await client.get(path, headers=tenant_b.headers),
        await client.put(path, json={"credit_note": {}}, headers=tenant_b.headers),
        await client.put(f"{path}/void", headers=tenant_b.headers),
        await client.get(f"{URL}/not-a-uuid", headers=tenant_a.headers),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "credit_note_not_found")
    listed = await client.get(URL, headers=tenant_b.headers)
    assert listed.json()["credit_notes"] == []
    estimate = await client.post(
        f"{URL}/estimate", json=body(invoice, [(1, 1)]), headers=tenant_b.headers
    )
    assert estimate.status_code == 404


async def test_metadata_follows_lagos_limits(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    invoice = await seed_invoice(sessions, tenant_a)
    for metadata, code in (
        ({"k" * 101: "v"}, "invalid_key"),
        ({"k": "v" * 256}, "value_is_too_long"),
    ):
        payload = body(invoice, [(1, 1)], credit_amount_cents=1, metadata=metadata)
        response = await create(client, tenant_a, payload)
        assert response.json()["error_details"] == {"metadata": [code]}


async def test_created_webhooks_are_dispatched_after_the_commit(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with transaction(sessions) as session:
        session.add(
            WebhookEndpoint(organization_id=tenant_a.organization_id, webhook_url="http://x.test")
        )
    dispatched: list[list[uuid.UUID]] = []

    async def fake_client(self: TemporalConnector) -> object:
        return object()

    async def record(_: object, ids: list[uuid.UUID]) -> None:
        async with sessions() as session:  # committed before dispatch
            assert await session.scalar(select(CreditNote)) is not None
        dispatched.append(ids)

    monkeypatch.setattr(TemporalConnector, "client", fake_client)
    monkeypatch.setattr(outbox, "dispatch", record)
    invoice = await seed_invoice(sessions, tenant_a)
    await created(client, tenant_a, body(invoice, [(1, 1)], credit_amount_cents=1))
    async with sessions() as session:
        webhook_ids = list(await session.scalars(select(Webhook.id)))
    assert dispatched == [webhook_ids]

    async def broken(_: object, ids: list[uuid.UUID]) -> None:
        raise RuntimeError("Temporal is down")

    monkeypatch.setattr(outbox, "dispatch", broken)
    # The note is committed: a failed dispatch is left to the outbox, not a 500.
    await created(client, tenant_a, body(invoice, [(1, 1)], credit_amount_cents=1))
