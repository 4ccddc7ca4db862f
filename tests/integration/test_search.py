"""GET /api/v1/search on a small version of the bench's organization (bench/search_seed.py:
2,000 customers with their subscriptions, invoices, payments and credit notes, and 200 in
another organization with the same names and ids): grouping, ranking (exact ids and
numbers first, then equal columns, prefixes, substrings), 2-letter prefixes, the ids a UI
links with, Lago's 422 for bad input, and never a row of another organization.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.search.queries import CANDIDATES
from bxb.search.queries import sql as search_sql
from tests.support.auth import Tenant

ROOT = Path(__file__).resolve().parents[2]
ROUTE = "/api/v1/search"
ALL = ["customers", "subscriptions", "invoices", "plans", "credit_notes", "payments"]


def _seed_module() -> Any:
    sys.path.insert(0, str(ROOT / "bench"))  # search_seed imports its sibling analytics_seed
    return importlib.import_module("search_seed")


async def _connect(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))


@pytest.fixture
async def seeded(database_url: str, tenant_a: Tenant, tenant_b: Tenant) -> asyncpg.Connection:
    seed = _seed_module().seed
    conn = await _connect(database_url)
    await seed(conn, tenant_a.organization_id, 2000)
    await seed(conn, tenant_b.organization_id, 200)
    yield conn
    await conn.close()


async def _search(
    client: httpx.AsyncClient, tenant: Tenant, q: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(ROUTE, params={"q": q, **params}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_exact_customer_id_ranks_first_and_finds_its_invoices(
    client: httpx.AsyncClient, tenant_a: Tenant, seeded: asyncpg.Connection
) -> None:
    body = await _search(client, tenant_a, "CUS_12")
    results = body["results"]
    assert list(results) == ALL
    assert body["meta"] == {
        "query": "cus_12",
        "types": ALL,
        "limit": 5,
        "has_more": {
            "customers": True,  # cus_12, cus_120 ... cus_1299
            "subscriptions": True,
            "invoices": False,  # only cus_12's three: numbers hold no customer id
            "plans": False,
            "credit_notes": False,
            "payments": False,
        },
    }
    first = results["customers"][0]
    assert (first["external_id"], first["type"], first["exact"]) == ("cus_12", "customer", True)
    assert first["matched_fields"] == ["external_id"]
    assert first["label"] == (
        await seeded.fetchval(
            "SELECT name FROM customers WHERE organization_id = $1 AND external_id = 'cus_12'",
            tenant_a.organization_id,
        )
    )
    assert all(h["external_id"].startswith("cus_12") for h in results["customers"])
    assert not any(h["exact"] for h in results["customers"][1:])
    # The subscription whose customer is cus_12 before the others (cus_120 ...).
    assert results["subscriptions"][0]["external_customer_id"] == "cus_12"
    assert results["subscriptions"][0]["external_id"] == "sub_12"
    # Its 3 invoices first, found through the customer's id, newest first.
    invoices = results["invoices"]
    assert [i["number"] for i in invoices] == [
        "INV-000012-003",
        "INV-000012-002",
        "INV-000012-001",
    ]
    assert {i["external_customer_id"] for i in invoices} == {"cus_12"}
    assert invoices[0]["lago_customer_id"] == first["lago_id"]
    assert invoices[0]["matched_fields"] == ["external_customer_id"]
    assert results["plans"] == results["credit_notes"] == results["payments"] == []


async def test_an_exact_invoice_number_and_payment_id(
    client: httpx.AsyncClient, tenant_a: Tenant, seeded: asyncpg.Connection
) -> None:
    org = tenant_a.organization_id
    number, invoice_id = await seeded.fetchrow(
        "SELECT i.number, i.id FROM invoices i JOIN credit_notes n ON n.invoice_id = i.id"
        " WHERE i.organization_id = $1 ORDER BY i.number LIMIT 1",
        org,
    )
    results = (await _search(client, tenant_a, number))["results"]
    assert [i["number"] for i in results["invoices"]] == [number]
    assert results["invoices"][0]["exact"] is True
    assert results["invoices"][0]["lago_id"] == str(invoice_id)
    [note] = results["credit_notes"]  # INV-...-CN1 contains the invoice's number
    assert (note["number"], note["invoice_number"]) == (f"{number}-CN1", number)
    assert (note["exact"], note["lago_invoice_id"]) == (False, str(invoice_id))

    note_hit = await _search(client, tenant_a, f"{number}-cn1", **{"types[]": "credit_notes"})
    assert note_hit["results"]["credit_notes"][0]["exact"] is True

    payment_id, pay_invoice = await seeded.fetchrow(
        "SELECT p.provider_payment_id, i.number FROM payments p JOIN invoices i"
        " ON i.id = p.invoice_id WHERE p.organization_id = $1"
        " AND p.provider_payment_id IS NOT NULL ORDER BY p.provider_payment_id LIMIT 1",
        org,
    )
    body = await _search(client, tenant_a, payment_id, **{"types[]": ["payments"]})
    assert list(body["results"]) == ["payments"]
    [payment] = body["results"]["payments"]
    assert (payment["label"], payment["exact"]) == (payment_id, True)
    assert payment["invoice_number"] == pay_invoice
    assert payment["matched_fields"] == ["provider_payment_id"]

    reference = await seeded.fetchval(
        "SELECT reference FROM payments WHERE organization_id = $1 AND reference IS NOT NULL"
        " ORDER BY reference LIMIT 1",
        org,
    )
    wire = await _search(client, tenant_a, reference.lower(), **{"types[]": "payments"})
    [by_reference] = wire["results"]["payments"]  # WIRE-<n>-<j>: no other holds it
    assert (by_reference["reference"], by_reference["matched_fields"]) == (
        reference,
        ["reference"],
    )


async def test_names_rank_equal_then_prefix_then_substring(
    client: httpx.AsyncClient, tenant_a: Tenant, seeded: asyncpg.Connection
) -> None:
    org = tenant_a.organization_id
    # One customer whose name is exactly the query, one whose name starts with it, one
    # that only contains it: in that order, whatever the others.
    for ext, name in (("zz_1", "Quill"), ("zz_2", "Quillon Partners"), ("zz_3", "Aquilla")):
        await seeded.execute(
            "INSERT INTO customers (id, organization_id, external_id, sequential_id, name,"
            " sync_with_provider, metadata) VALUES ($1, $2, $3, 0, $4, false, '[]')",
            uuid.uuid4(),
            org,
            ext,
            name,
        )
    body = await _search(client, tenant_a, "quill", **{"types[]": "customers"})
    hits = body["results"]["customers"]
    assert [h["external_id"] for h in hits] == ["zz_1", "zz_2", "zz_3"]
    assert [h["matched_fields"] for h in hits] == [["name"]] * 3
    assert hits[0]["score"] == 1.0
    assert hits[0]["exact"] is False

    # A last name shared by many: limit and has_more; every hit holds it.
    body = await _search(client, tenant_a, "Dubois", **{"types[]": "customers", "limit": 7})
    hits = body["results"]["customers"]
    assert len(hits) == 7
    assert body["meta"]["has_more"] == {"customers": True}
    assert all("lastname" in h["matched_fields"] for h in hits)

    # Plans: an exact code first.
    plans = (await _search(client, tenant_a, "pro", **{"types[]": "plans"}))["results"]["plans"]
    assert plans[0]["code"] == "pro"
    assert plans[0]["exact"] is True


async def test_two_letters_match_word_prefixes_only(
    client: httpx.AsyncClient, tenant_a: Tenant, seeded: asyncpg.Connection
) -> None:
    body = await _search(client, tenant_a, "sm", **{"types[]": "customers", "limit": 25})
    hits = body["results"]["customers"]
    assert len(hits) == 25
    for h in hits:
        words = " ".join(str(h[k] or "") for k in ("external_id", "name", "email")).lower()
        assert any(w.startswith("sm") for w in words.split()), h
    # "is" is inside many names (Harris, Lewis) but starts none of the seeded words.
    body = await _search(client, tenant_a, "is", **{"types[]": "customers"})
    assert body["results"]["customers"] == []
    assert (await _search(client, tenant_a, "zzqx"))["results"] == {t: [] for t in ALL}


async def test_another_organization_never_sees_a_row(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant, seeded: asyncpg.Connection
) -> None:
    await seeded.execute(
        "UPDATE customers SET name = 'Zebulon Quartermaine' WHERE organization_id = $1"
        " AND external_id = 'cus_7'",
        tenant_a.organization_id,
    )
    assert (await _search(client, tenant_b, "quartermaine"))["results"] == {t: [] for t in ALL}
    found = (await _search(client, tenant_a, "quartermaine"))["results"]["customers"]
    assert [h["external_id"] for h in found] == ["cus_7"]

    # B's organization has the same names and ids: whatever it finds is its own.
    a_ids = {
        str(r[0])
        for table in ("customers", "subscriptions", "invoices", "plans", "payments")
        for r in await seeded.fetch(
            f"SELECT id FROM {table} WHERE organization_id = $1", tenant_a.organization_id
        )
    }
    for q in ("cus_12", "smith", "sm", "inv-000012", "pro"):
        results = (await _search(client, tenant_b, q, limit=25))["results"]
        ids = {h["lago_id"] for hits in results.values() for h in hits}
        ids |= {h.get("lago_customer_id") for hits in results.values() for h in hits} - {None}
        assert ids, q
        assert not ids & a_ids, q


@pytest.mark.parametrize(
    ("params", "details"),
    [
        ({}, {"q": ["value_is_mandatory"]}),
        ({"q": "   "}, {"q": ["value_is_mandatory"]}),
        ({"q": "a"}, {"q": ["value_is_too_short"]}),
        ({"q": "x" * 101}, {"q": ["value_is_too_long"]}),
        ({"q": "acme", "types[]": ["customers", "coupons"]}, {"types": ["value_is_invalid"]}),
        ({"q": "acme", "limit": "0"}, {"limit": ["value_is_out_of_range"]}),
        ({"q": "acme", "limit": "26"}, {"limit": ["value_is_out_of_range"]}),
        ({"q": "acme", "limit": "five"}, {"limit": ["value_is_invalid"]}),
        (
            {"q": "a", "limit": "0"},
            {"q": ["value_is_too_short"], "limit": ["value_is_out_of_range"]},
        ),
    ],
)
async def test_bad_input_gets_lagos_422(
    client: httpx.AsyncClient, tenant_a: Tenant, params: dict[str, Any], details: Any
) -> None:
    response = await client.get(ROUTE, params=params, headers=tenant_a.headers)
    assert response.status_code == 422
    assert response.json() == {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": details,
    }


async def test_like_wildcards_are_literal(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    assert (await _search(client, tenant_a, "%%"))["results"]["customers"] == []
    assert (await _search(client, tenant_a, "_\\_"))["results"]["customers"] == []


async def test_without_a_key_401(client: httpx.AsyncClient) -> None:
    assert (await client.get(ROUTE, params={"q": "acme"})).status_code == 401


async def test_each_type_can_use_its_trigram_index(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant, seeded: asyncpg.Connection
) -> None:
    """The query's document is the indexed expression (else the planner could never use the
    index, and search would scan the table at 100,000 customers)."""
    params = {
        "org": tenant_a.organization_id,
        "s": "smi",
        "pattern": "%smi%",
        "word": "% smi%",
        "cap": CANDIDATES,
        "limit": 6,
    }
    async with sessions() as session:  # rolled back: the dropped indexes come back
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        for type_ in ALL:
            # At 2,000 rows an organization_id index and a filter cost less than trigrams:
            # take the other indexes away, inside the transaction, to see the planner can
            # match the query's expressions to the search indexes.
            others = await session.scalars(
                text(
                    "SELECT indexname FROM pg_indexes WHERE tablename = :t"
                    " AND indexname <> :mine"
                    " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
                ),
                {"t": type_, "mine": f"ix_{type_}_search"},
            )
            for name in others.all():
                await session.execute(text(f'DROP INDEX "{name}"'))
            sql = search_sql((type_,))
            plan = "\n".join(
                (await session.execute(text(f"EXPLAIN {sql}"), params)).scalars().all()
            )
            assert f"Bitmap Index Scan on ix_{type_}_search " in plan, plan
