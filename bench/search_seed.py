"""An organization to search, written fast, for bench/search.py and its small test.

Everything is generated in PostgreSQL (INSERT ... SELECT over generate_series), in chunks
of customers, through the real tables (analytics_seed.Inserter fills the columns other
branches add). Customer n (all derived from hashes of n, so runs are reproducible):

- a person (60 %: "Ava Smith", email ava.smith<n>@<domain>) or a company (40 %:
  "Smith Labs", legal name "Smith Labs <n> Ltd", a tax id for half of them), from 48
  first names and 64 last names: a last name is shared by ~1,600 of 100,000 customers;
- external id `cus_<n>`; one subscription `sub_<n>` on one of 8 plans;
- `invoices_per_customer` invoices numbered `INV-<n, 6 digits>-<j, 3 digits>`;
- a Stripe payment (`pi_<md5 prefix>`) for each invoice, a wire-transfer reference
  (`WIRE-<n>-<j>`) on one in ten; a credit note (`<invoice number>-CN1`) on one in fifty.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from analytics_seed import Inserter, uuid_expression

CHUNK = 5000  # customers per transaction

FIRST = (  # noqa: SIM905 - a list of names reads best as words
    "Ava Liam Noah Emma Olivia Mia Lucas Ethan Amelia Harper Elijah James Sofia Mateo Chloe"
    " Leo Hugo Jules Louise Alice Lina Rose Anna Nora Paul Adam Sami Yara Omar Lea Ines"
    " Max Ben Finn Ida Ella Clara Arthur Victor Louis Jack Oscar Maya Zoe Ivy Ruby Eli Kai"
).split()
LAST = (  # noqa: SIM905
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez"
    " Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson"
    " White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott"
    " Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell"
    " Carter Roberts Dubois Moreau Laurent Simon Michel Lefebvre Leroy Roux Muller Schmidt"
    " Schneider Fischer Weber Meyer"
).split()
SUFFIX = ("Labs", "Systems", "Partners", "Group", "Studio", "Analytics", "Logistics", "Cloud")
DOMAINS = ("gmail.com", "example.com", "outlook.com", "acme.io", "proton.me", "company.fr")
PLANS = (
    ("starter", "Starter"),
    ("pro", "Pro"),
    ("business", "Business"),
    ("enterprise", "Enterprise"),
    ("startup_annual", "Startup annual"),
    ("scale_usage", "Scale (usage)"),
    ("nonprofit", "Non-profit"),
    ("partner_reseller", "Partner reseller"),
)


def _array(values: tuple[str, ...] | list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def _pick(values: tuple[str, ...] | list[str], salt: int) -> str:
    return f"({_array(values)})[1 + abs(hashint4(b.n * {salt} + {salt}))::int % {len(values)}]"


CUSTOMERS = f"""
CREATE TEMP TABLE bench_cus ON COMMIT DROP AS
SELECT b.n, {_pick(FIRST, 3)} AS first, {_pick(LAST, 5)} AS last,
    {_pick(SUFFIX, 7)} AS suffix, {_pick(DOMAINS, 11)} AS domain,
    abs(hashint4(b.n * 13 + 1)) % 100 AS kind,
    1 + abs(hashint4(b.n * 17 + 2)) % {len(PLANS)} AS plan
FROM generate_series($1::int, $2::int) AS b(n)
"""

INVOICES = """
CREATE TEMP TABLE bench_inv ON COMMIT DROP AS
SELECT b.n, j, 'INV-' || lpad(b.n::text, 6, '0') || '-' || lpad(j::text, 3, '0') AS number,
    abs(hashint8(b.n::bigint * 64 + j)) AS hv,
    now() - make_interval(days => (($1::int - j) * 30 + b.n % 30)) AS at
FROM bench_cus b, generate_series(1, $1::int) j
"""


async def seed(
    conn: asyncpg.Connection,
    organization_id: uuid.UUID,
    customers: int,
    invoices_per_customer: int = 3,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Write the organization; returns the rows of each table and the seconds it took."""
    started = time.perf_counter()
    inserter = Inserter(conn)
    args = (organization_id.hex, str(organization_id))
    plans = " UNION ALL ".join(
        f"SELECT {i} AS i, '{code}' AS code, '{name}' AS name"
        for i, (code, name) in enumerate(PLANS, 1)
    )
    rows: dict[str, int] = {"plans": 0}
    async with conn.transaction():
        rows["plans"] = await inserter.insert(
            "plans",
            {
                "id": uuid_expression("p", "p.i"),
                "organization_id": "$2::uuid",
                "code": "p.code",
                "name": "p.name",
                "interval": "'monthly'",
                "amount_cents": "p.i * 1000",
                "amount_currency": "'USD'",
                "pay_in_advance": "false",
            },
            f"FROM ({plans}) p",
            *args,
        )
    for lo in range(1, customers + 1, CHUNK):
        hi = min(customers, lo + CHUNK - 1)
        async with conn.transaction():
            for table, count in await _chunk(inserter, args, lo, hi, invoices_per_customer):
                rows[table] = rows.get(table, 0) + count
        progress(f"seeded customers 1-{hi} ({time.perf_counter() - started:.0f} s)")
    await conn.execute("ANALYZE")
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 1)}


async def _chunk(
    inserter: Inserter, args: tuple[str, str], lo: int, hi: int, per_customer: int
) -> list[tuple[str, int]]:
    conn = inserter.conn
    await conn.execute(CUSTOMERS, lo, hi)
    await conn.execute(INVOICES, per_customer)
    cus = uuid_expression("c", "b.n")
    company = "b.kind < 40"
    done = [
        (
            "customers",
            await inserter.insert(
                "customers",
                {
                    "id": cus,
                    "organization_id": "$2::uuid",
                    "external_id": "'cus_' || b.n",
                    "sequential_id": "b.n",
                    "customer_type": f"CASE WHEN {company} THEN 'company' ELSE 'individual' END",
                    "name": f"CASE WHEN {company} THEN b.last || ' ' || b.suffix"
                    " ELSE b.first || ' ' || b.last END",
                    "firstname": "b.first",
                    "lastname": "b.last",
                    "email": "lower(b.first) || '.' || lower(b.last) || b.n || '@' || b.domain",
                    "legal_name": f"CASE WHEN {company}"
                    " THEN b.last || ' ' || b.suffix || ' ' || b.n || ' Ltd' END",
                    "tax_identification_number": f"CASE WHEN {company} AND b.kind % 2 = 0"
                    " THEN 'FR' || lpad((abs(hashint4(b.n)) % 1000000000)::text, 11, '0') END",
                    "currency": "'USD'",
                },
                "FROM bench_cus b",
                *args,
            ),
        ),
        (
            "subscriptions",
            await inserter.insert(
                "subscriptions",
                {
                    "id": uuid_expression("s", "b.n"),
                    "organization_id": "$2::uuid",
                    "external_id": "'sub_' || b.n",
                    "customer_id": cus,
                    "external_customer_id": "'cus_' || b.n",
                    "name": "CASE WHEN b.kind % 10 = 0 THEN 'Team ' || b.last END",
                    "plan_id": uuid_expression("p", "b.plan"),
                    "plan_code": f"({_array([c for c, _ in PLANS])})[b.plan]",
                    "plan_amount_cents": "b.plan * 1000",
                    "plan_amount_currency": "'USD'",
                    "status": "'active'",
                    "billing_time": "'calendar'",
                    "subscription_at": "now()",
                    "started_at": "now()",
                    "workflow_id": "'bench-sub-' || b.n",
                },
                "FROM bench_cus b",
                *args,
            ),
        ),
    ]
    inv = uuid_expression("i", "b.n", "b.j")
    done.append(
        (
            "invoices",
            await inserter.insert(
                "invoices",
                {
                    "id": inv,
                    "organization_id": "$2::uuid",
                    "customer_id": cus,
                    "invoice_type": "'one_off'",
                    "kind": "'one_off'",
                    "status": "'finalized'",
                    "payment_status": "'succeeded'",
                    "currency": "'USD'",
                    "issuing_date": "b.at::date",
                    "number": "b.number",
                    "fees_amount_cents": "1000",
                    "total_amount_cents": "1000",
                    "total_paid_amount_cents": "1000",
                    "finalized_at": "b.at",
                    "created_at": "b.at",
                    "updated_at": "b.at",
                },
                "FROM bench_inv b",
                *args,
            ),
        )
    )
    done.append(
        (
            "payments",
            await inserter.insert(
                "payments",
                {
                    "id": uuid_expression("pa", "b.n", "b.j"),
                    "organization_id": "$2::uuid",
                    "invoice_id": inv,
                    "customer_id": cus,
                    "provider": "CASE WHEN b.hv % 10 = 0 THEN 'manual' ELSE 'stripe' END",
                    "attempt": "1",
                    "amount_cents": "1000",
                    "currency": "'USD'",
                    "status": "'succeeded'",
                    "provider_payment_id": "CASE WHEN b.hv % 10 <> 0"
                    " THEN 'pi_' || substr(md5(b.number), 1, 24) END",
                    "reference": "CASE WHEN b.hv % 10 = 0 THEN 'WIRE-' || b.n || '-' || b.j END",
                    "paid_at": "b.at",
                    "created_at": "b.at",
                    "updated_at": "b.at",
                },
                "FROM bench_inv b",
                *args,
            ),
        )
    )
    done.append(
        (
            "credit_notes",
            await inserter.insert(
                "credit_notes",
                {
                    "id": uuid_expression("cn", "b.n", "b.j"),
                    "organization_id": "$2::uuid",
                    "customer_id": cus,
                    "invoice_id": inv,
                    "sequential_id": "1",
                    "number": "b.number || '-CN1'",
                    "issuing_date": "b.at::date + 5",
                    "reason": "'other'",
                    "currency": "'USD'",
                    "credit_status": "'available'",
                    "total_amount_cents": "500",
                    "taxes_amount_cents": "0",
                    "taxes_rate": "0",
                    "precise_taxes_amount_cents": "0",
                    "sub_total_excluding_taxes_amount_cents": "500",
                    "coupons_adjustment_amount_cents": "0",
                    "precise_coupons_adjustment_amount_cents": "0",
                    "credit_amount_cents": "500",
                    "refund_amount_cents": "0",
                    "balance_amount_cents": "500",
                    "created_at": "b.at + interval '5 days'",
                    "updated_at": "b.at + interval '5 days'",
                },
                "FROM bench_inv b WHERE b.hv % 50 = 1",
                *args,
            ),
        )
    )
    return done
