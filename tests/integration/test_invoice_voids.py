"""Voiding an invoice gives back what the customer paid for it, never more, never less.

Found by the ledger property (tests/properties): an unpaid invoice credited in full and
then voided left the customer the whole credit for an invoice it never paid.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.auth import Tenant
from tests.support.credit_notes import DEFAULT_TOTAL, SeededInvoice, seed_invoice


async def _call(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: Any = None
) -> httpx.Response:
    return await client.request(method, f"/api/v1{path}", json=body, headers=tenant.headers)


async def _credit_in_full(
    client: httpx.AsyncClient, tenant: Tenant, invoice: SeededInvoice, refund: int = 0
) -> dict[str, Any]:
    """A note for every fee in full (10 000 and 333 before coupons: the whole total)."""
    items = [
        {"fee_id": str(fee_id), "amount_cents": amount}
        for fee_id, amount in zip(invoice.fee_ids, (10_000, 333), strict=True)
    ]
    body = {
        "invoice_id": str(invoice.id),
        "items": items,
        "credit_amount_cents": DEFAULT_TOTAL - refund,
        "refund_amount_cents": refund,
    }
    response = await _call(client, tenant, "POST", "/credit_notes", {"credit_note": body})
    assert response.status_code == 200, response.text
    note: dict[str, Any] = response.json()["credit_note"]
    return note


async def _void(
    client: httpx.AsyncClient, tenant: Tenant, invoice: SeededInvoice, **options: Any
) -> httpx.Response:
    return await _call(client, tenant, "POST", f"/invoices/{invoice.id}/void", options)


async def test_an_unpaid_invoice_credited_in_full_cannot_then_be_voided(
    temporal_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    invoice = await seed_invoice(sessions, tenant_a)
    note = await _credit_in_full(temporal_client, tenant_a, invoice)
    for options in ({}, {"generate_credit_note": True}):
        refused = await _void(temporal_client, tenant_a, invoice, **options)
        assert refused.status_code == 405, refused.text
        assert refused.json()["code"] == "not_voidable"
    # Once the note's credit is given up, nothing was given back: the void is allowed.
    voided_note = await _call(
        temporal_client, tenant_a, "PUT", f"/credit_notes/{note['lago_id']}/void"
    )
    assert voided_note.status_code == 200, voided_note.text
    voided = await _void(temporal_client, tenant_a, invoice)
    assert voided.status_code == 200, voided.text
    assert voided.json()["invoice"]["status"] == "voided"


async def test_a_partly_paid_invoice_is_voided_only_with_a_credit_note_for_the_money(
    temporal_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    invoice = await seed_invoice(sessions, tenant_a)
    payment = {"invoice_id": str(invoice.id), "amount_cents": 4_000, "reference": "wire"}
    paid = await _call(temporal_client, tenant_a, "POST", "/payments", {"payment": payment})
    assert paid.status_code == 200, paid.text
    refused = await _void(temporal_client, tenant_a, invoice)
    assert (refused.status_code, refused.json()["code"]) == (405, "not_voidable")
    voided = await _void(temporal_client, tenant_a, invoice, generate_credit_note=True)
    assert voided.status_code == 200, voided.text
    notes = await _call(temporal_client, tenant_a, "GET", "/credit_notes")
    [note] = notes.json()["credit_notes"]
    assert (note["credit_amount_cents"], note["refund_amount_cents"]) == (4_000, 0)


async def test_a_paid_invoice_credited_in_part_is_voided_for_the_rest_of_the_money(
    temporal_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    invoice = await seed_invoice(sessions, tenant_a, paid=DEFAULT_TOTAL)
    items = [{"fee_id": str(invoice.fee_ids[1]), "amount_cents": 333}]  # 333 + 18 taxes
    body = {"invoice_id": str(invoice.id), "items": items, "refund_amount_cents": 351}
    refund = await _call(temporal_client, tenant_a, "POST", "/credit_notes", {"credit_note": body})
    assert refund.status_code == 200, refund.text
    voided = await _void(temporal_client, tenant_a, invoice, generate_credit_note=True)
    assert voided.status_code == 200, voided.text
    notes = (await _call(temporal_client, tenant_a, "GET", "/credit_notes")).json()["credit_notes"]
    assert sorted(n["total_amount_cents"] for n in notes) == [351, DEFAULT_TOTAL - 351]


async def test_a_partly_paid_invoice_credited_then_voided_gives_back_only_the_money(
    temporal_client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
) -> None:
    """Found by the ledger property: 11 101 of 11 151 paid, a credit-only note of 351,
    then a void with a credit note: the void's note is worth 11 101 - 351 = 10 750, so the
    customer gets back the 11 101 paid, not 11 452."""
    paid = DEFAULT_TOTAL - 50
    invoice = await seed_invoice(sessions, tenant_a, paid=paid)
    items = [{"fee_id": str(invoice.fee_ids[1]), "amount_cents": 333}]  # 333 + 18 taxes
    body = {"invoice_id": str(invoice.id), "items": items, "credit_amount_cents": 351}
    credit = await _call(temporal_client, tenant_a, "POST", "/credit_notes", {"credit_note": body})
    assert credit.status_code == 200, credit.text
    voided = await _void(temporal_client, tenant_a, invoice, generate_credit_note=True)
    assert voided.status_code == 200, voided.text
    notes = (await _call(temporal_client, tenant_a, "GET", "/credit_notes")).json()["credit_notes"]
    assert sorted(n["credit_amount_cents"] for n in notes) == [351, paid - 351]
    assert sum(n["total_amount_cents"] for n in notes) == paid


async def test_a_void_gives_the_wallet_back_the_credits_the_invoice_consumed(
    temporal_client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    """50 credits at $1.00; a $30.00 one-off invoice is paid by the wallet (nothing due);
    voiding it puts the 30 credits back."""
    add_on = {"name": "Setup", "code": "setup", "amount_cents": 3_000, "amount_currency": "USD"}
    customer = {"external_id": "cus_1", "currency": "USD"}
    wallet = {
        "external_customer_id": "cus_1",
        "rate_amount": "1",
        "currency": "USD",
        "granted_credits": "50",
    }
    for path, body in (
        ("/add_ons", {"add_on": add_on}),
        ("/customers", {"customer": customer}),
        ("/wallets", {"wallet": wallet}),
    ):
        assert (await _call(temporal_client, tenant_a, "POST", path, body)).status_code == 200
    invoice = {"external_customer_id": "cus_1", "fees": [{"add_on_code": "setup"}]}
    created = await _call(temporal_client, tenant_a, "POST", "/invoices", {"invoice": invoice})
    paid = created.json()["invoice"]
    assert (paid["prepaid_credit_amount_cents"], paid["payment_status"]) == (3_000, "succeeded")
    voided = await _call(
        temporal_client,
        tenant_a,
        "POST",
        f"/invoices/{paid['lago_id']}/void",
        {"generate_credit_note": True},
    )
    assert voided.status_code == 200, voided.text
    [wallet_row] = (await _call(temporal_client, tenant_a, "GET", "/wallets")).json()["wallets"]
    assert (wallet_row["balance_cents"], wallet_row["credits_balance"]) == (5_000, "50")
    assert wallet_row["consumed_amount_cents"] == 0
    moves = await _call(
        temporal_client, tenant_a, "GET", f"/wallets/{wallet_row['lago_id']}/wallet_transactions"
    )
    [recredit] = [t for t in moves.json()["wallet_transactions"] if t["lago_voided_invoice_id"]]
    assert (recredit["transaction_status"], recredit["credit_amount"]) == ("granted", "30")
    assert recredit["lago_voided_invoice_id"] == paid["lago_id"]
