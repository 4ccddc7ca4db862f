"""The ledger of a large organization, written fast, for bench/analytics.py.

Everything is generated inside PostgreSQL (INSERT ... SELECT over generate_series), in
chunks of customers, one transaction per chunk, through the real tables: their
constraints and triggers (the revenue rollups) run on every row, as they would when
bxb bills. Chunks keep the transactions short, so the rollup rows the triggers update
many times do not drag long version chains.

What one customer n is (all derived from hashes of n, so a run is reproducible):

- a currency (70 % USD, 30 % EUR), a plan tier (4 monthly plans per currency), an
  anniversary day (1-28) and k invoices, k averaging invoices / customers;
- one subscription, started s months into a window of 24 months; 80 % still active (its
  k periods end in the last month), 20 % churned after their k periods; 15 % upgraded
  and 7 % downgraded halfway (the subscription fee changes with the tier);
- one invoice per monthly period, in arrears: a subscription fee and a usage fee;
  1 % voided; the others paid (92 %), failed (4 %) or pending (4 %), the last month's
  mostly pending; payments (one attempt, two for failures) for each;
- a credit note on 1 % of the finalized invoices (half of it refunded);
- MRR movements (new, expansion or contraction, churn) and a trial for 20 %, when the
  tables of branch h11-mrr exist.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

TIERS = ("starter", "pro", "business", "enterprise")
AMOUNTS = {"USD": (2900, 9900, 29900, 99900), "EUR": (2500, 8900, 26900, 89900)}
CHUNK = 1000  # customers per transaction


@dataclass(frozen=True)
class Sizes:
    customers: int
    invoices: int

    def __post_init__(self) -> None:
        if not self.customers <= self.invoices <= 24 * self.customers:
            raise ValueError("invoices must be between 1 and 24 per customer")


# --- filling the columns a statement leaves out ------------------------------------------------


class Inserter:
    """INSERT ... SELECT into a real table, with what its model defaults to for the
    required columns a statement does not name (columns other branches add)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._required: dict[str, list[str] | None] = {}

    async def required(self, table: str) -> list[str] | None:
        """NOT NULL columns without a server default; None if the table does not exist."""
        if table not in self._required:
            rows = await self.conn.fetch(
                "SELECT column_name, is_nullable, column_default FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = $1",
                table,
            )
            self._required[table] = (
                [
                    r["column_name"]
                    for r in rows
                    if r["is_nullable"] == "NO" and r["column_default"] is None
                ]
                if rows
                else None
            )
        return self._required[table]

    async def insert(self, table: str, values: dict[str, str], source: str, *args: Any) -> int:
        """Rows inserted; 0 when the table does not exist (a branch not merged)."""
        required = await self.required(table)
        if required is None:
            return 0
        columns = dict(values)
        for column in required:
            if column not in columns:
                columns[column] = model_default(table, column)
        names = ", ".join(f'"{c}"' for c in columns)
        exprs = ", ".join(columns.values())
        status = await self.conn.execute(
            f"INSERT INTO {table} ({names}) SELECT {exprs} {source}",
            *args,
        )
        return int(status.rsplit(" ", 1)[1])


def model_default(table: str, column: str) -> str:
    """A SQL literal of the model's Python-side default for table.column."""
    from bxb.models import Base

    default = Base.metadata.tables[table].c[column].default
    if column == "id":
        return "gen_random_uuid()"
    if default is None:
        raise RuntimeError(f"{table}.{column} is required and has no default to seed")
    arg: Any = getattr(default, "arg", None)
    value = arg(None) if callable(arg) else arg
    if isinstance(value, uuid.UUID):
        return "gen_random_uuid()"
    if isinstance(value, datetime):
        return "now()"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, list | dict):
        return "'" + json.dumps(value).replace("'", "''") + "'::jsonb"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise RuntimeError(f"cannot seed {table}.{column} (default {value!r})")


# --- the seed ----------------------------------------------------------------------------------


def uuid_expression(kind: str, *parts: str) -> str:
    """A deterministic uuid expression: md5(salt:kind:parts)."""
    joined = " || ':' || ".join(parts)
    return f"md5($1 || ':{kind}:' || {joined})::uuid"


async def seed(
    conn: asyncpg.Connection,
    organization_id: uuid.UUID,
    sizes: Sizes,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Write the organization's ledger; returns the rows of each table and the seconds."""
    started = time.perf_counter()
    salt = organization_id.hex
    org = str(organization_id)
    inserter = Inserter(conn)
    async with conn.transaction():
        await _catalog(inserter, salt, org)
    await conn.execute("CREATE TEMP SEQUENCE IF NOT EXISTS bench_invoice_seq")
    for lo in range(1, sizes.customers + 1, CHUNK):
        hi = min(sizes.customers, lo + CHUNK - 1)
        async with conn.transaction():
            await _chunk(inserter, salt, org, lo, hi, _shape(sizes))
        if (hi // CHUNK) % 10 == 0 or hi == sizes.customers:
            progress(f"seeded customers 1-{hi} ({time.perf_counter() - started:.0f} s)")
    last = await conn.fetchval("SELECT last_value FROM bench_invoice_seq")
    await conn.execute(
        "INSERT INTO invoice_sequences (organization_id, last_sequential_id) VALUES ($1, $2)"
        " ON CONFLICT (organization_id) DO UPDATE SET last_sequential_id = $2",
        organization_id,
        last,
    )
    seconds = time.perf_counter() - started
    await conn.execute("VACUUM (ANALYZE)")  # as autovacuum leaves a table at rest
    rows = {}
    for table in (
        "customers",
        "subscriptions",
        "invoices",
        "fees",
        "payments",
        "credit_notes",
        "mrr_movements",
        "subscription_trials",
    ):
        if await inserter.required(table) is not None:
            rows[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
    voided = await conn.fetchval("SELECT count(*) FROM invoices WHERE status = 'voided'")
    return {
        "seconds": round(seconds, 1),
        "rows": rows,
        "voided_invoices": voided,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _shape(sizes: Sizes) -> tuple[int, int, int, int]:
    base, rem = divmod(sizes.invoices, sizes.customers)
    vmax = max(0, min(base - 1, 23 - base))
    last_odd = sizes.customers if sizes.customers % 2 else 0
    return base, rem, vmax, last_odd


async def seed_missing_movements(
    conn: asyncpg.Connection,
    organization_id: uuid.UUID,
    sizes: Sizes,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, int]:
    """Seed MRR movements and trials into a ledger seeded before their tables existed."""
    inserter = Inserter(conn)
    if await inserter.required("mrr_movements") is None:
        return {}
    if await conn.fetchval("SELECT count(*) FROM mrr_movements"):
        return {}
    args = (organization_id.hex, str(organization_id))
    for lo in range(1, sizes.customers + 1, CHUNK):
        hi = min(sizes.customers, lo + CHUNK - 1)
        async with conn.transaction():
            await conn.execute(CUSTOMERS, lo, hi, *_shape(sizes))
            await _movements(inserter, args)
    progress("seeded the MRR movements")
    await conn.execute("VACUUM (ANALYZE) mrr_movements")
    rows = {"mrr_movements": await conn.fetchval("SELECT count(*) FROM mrr_movements")}
    if await inserter.required("subscription_trials") is not None:
        rows["subscription_trials"] = await conn.fetchval(
            "SELECT count(*) FROM subscription_trials"
        )
    return rows


async def _catalog(inserter: Inserter, salt: str, org: str) -> None:
    await inserter.insert(
        "billable_metrics",
        {
            "id": "md5($1 || ':bm')::uuid",
            "organization_id": "$2::uuid",
            "code": "'api_calls'",
            "name": "'API calls'",
            "aggregation_type": "'sum_agg'",
            "field_name": "'calls'",
        },
        "",
        salt,
        org,
    )
    plans = " UNION ALL ".join(
        f"SELECT '{cur}' AS cur, {tier} AS tier, '{name}' AS name, {amount} AS amount"
        for cur, amounts in AMOUNTS.items()
        for tier, (name, amount) in enumerate(zip(TIERS, amounts, strict=True))
    )
    await inserter.insert(
        "plans",
        {
            "id": uuid_expression("p", "p.cur", "p.tier"),
            "organization_id": "$2::uuid",
            "code": "p.name || '_' || lower(p.cur)",
            "name": "initcap(p.name) || ' ' || p.cur",
            "interval": "'monthly'",
            "amount_cents": "p.amount",
            "amount_currency": "p.cur",
            "pay_in_advance": "false",
        },
        f"FROM ({plans}) p",
        salt,
        org,
    )
    await inserter.insert(
        "charges",
        {
            "id": uuid_expression("ch", "p.cur", "p.tier"),
            "organization_id": "$2::uuid",
            "plan_id": uuid_expression("p", "p.cur", "p.tier"),
            "billable_metric_id": "md5($1 || ':bm')::uuid",
            "code": "'api_calls'",
            "charge_model": "'standard'",
            "properties": """'{"amount": "0.001"}'::jsonb""",
        },
        f"FROM ({plans}) p",
        salt,
        org,
    )


# One row per customer of the chunk: what it is (see the module's docstring).
CUSTOMERS = """
CREATE TEMP TABLE bench_cus ON COMMIT DROP AS
WITH c AS (
    SELECT n,
        CASE WHEN abs(hashint4(n * 3 + 1)) % 10 < 7 THEN 'USD' ELSE 'EUR' END AS cur,
        abs(hashint4(n * 5 + 2)) % 4 AS tier0,
        abs(hashint4(n * 17 + 3)) % 100 AS fate,
        1 + abs(hashint4(n * 7 + 4)) % 28 AS dom,
        $3::int + CASE WHEN n <= $4 THEN 1 ELSE 0 END
            + CASE WHEN n = $6 THEN 0 WHEN n % 2 = 1 THEN 1 ELSE -1 END
              * (abs(hashint4(((n + 1) / 2) * 13 + 5)) % ($5::int + 1)) AS k
    FROM generate_series($1::int, $2::int) n
), w AS (
    SELECT c.*,
        CASE WHEN fate < 20 THEN abs(hashint4(n * 19 + 6)) % (25 - k) ELSE 24 - k END
            AS offset_months,
        CASE WHEN fate BETWEEN 20 AND 34 THEN least(tier0 + 1, 3)
             WHEN fate BETWEEN 35 AND 41 THEN greatest(tier0 - 1, 0)
             ELSE tier0 END AS tier1
    FROM c
)
SELECT w.*,
    (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - interval '25 months'
        + make_interval(months => offset_months, days => dom - 1) AS start_at,
    (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - interval '25 months'
        + make_interval(months => offset_months + k, days => dom - 1) AS end_at
FROM w
"""

# One row per invoice of the chunk's customers.
INVOICES = """
CREATE TEMP TABLE bench_inv ON COMMIT DROP AS
SELECT c.n, j, c.cur, c.tier, c.amount, c.start_at,
    c.start_at + make_interval(months => j) AS period_start,
    c.start_at + make_interval(months => j + 1) AS period_end,
    ((c.start_at + make_interval(months => j + 1)) AT TIME ZONE 'UTC')::date AS issuing_date,
    hv, hv % 100 = 0 AS voided,
    (hv / 100) % (c.amount / 2 + 1) AS usage_cents,
    CASE WHEN hv % 100 = 0 THEN 'pending'
         WHEN (c.start_at + make_interval(months => j + 1)) > now() - interval '30 days'
         THEN CASE WHEN (hv / 10000) % 10 < 6 THEN 'succeeded' ELSE 'pending' END
         WHEN (hv / 10000) % 100 < 92 THEN 'succeeded'
         WHEN (hv / 10000) % 100 < 96 THEN 'failed'
         ELSE 'pending' END AS pay,
    nextval('bench_invoice_seq') AS seq
FROM (
    SELECT b.*, j,
        CASE WHEN j >= b.k / 2 THEN b.tier1 ELSE b.tier0 END AS tier,
        CASE WHEN b.cur = 'USD' THEN (ARRAY[{usd}])[(CASE WHEN j >= b.k / 2 THEN b.tier1
                                                          ELSE b.tier0 END) + 1]
             ELSE (ARRAY[{eur}])[(CASE WHEN j >= b.k / 2 THEN b.tier1 ELSE b.tier0 END) + 1]
        END AS amount,
        abs(hashint8(b.n::bigint * 64 + j)) AS hv
    FROM bench_cus b, generate_series(0, b.k - 1) j
) c
ORDER BY c.n, j
"""


def _amounts(currency: str) -> str:
    return ", ".join(str(a) for a in AMOUNTS[currency])


def _plan_amount(tier: str) -> str:
    return (
        f"CASE WHEN b.cur = 'USD' THEN (ARRAY[{_amounts('USD')}])[{tier} + 1]"
        f" ELSE (ARRAY[{_amounts('EUR')}])[{tier} + 1] END"
    )


def _plan_code(tier: str) -> str:
    names = ", ".join(f"'{t}'" for t in TIERS)
    return f"(ARRAY[{names}])[{tier} + 1] || '_' || lower(b.cur)"


async def _chunk(
    inserter: Inserter, salt: str, org: str, lo: int, hi: int, shape: tuple[int, int, int, int]
) -> None:
    conn = inserter.conn
    base, rem, vmax, last_odd = shape
    await conn.execute(CUSTOMERS, lo, hi, base, rem, vmax, last_odd)
    await conn.execute(INVOICES.format(usd=_amounts("USD"), eur=_amounts("EUR")))
    args = (salt, org)
    cus = uuid_expression("c", "b.n")
    sub = uuid_expression("s", "b.n")
    await inserter.insert(
        "customers",
        {
            "id": cus,
            "organization_id": "$2::uuid",
            "external_id": "'cus_' || b.n",
            "sequential_id": "b.n",
            "name": "'Customer ' || b.n",
            "email": "'billing+' || b.n || '@example.com'",
            "customer_type": "'company'",
            "country": "(ARRAY['US', 'FR', 'DE', 'GB', 'ES'])[1 + b.n % 5]",
            "currency": "b.cur",
            "created_at": "b.start_at",
            "updated_at": "b.start_at",
        },
        "FROM bench_cus b",
        *args,
    )
    await inserter.insert(
        "subscriptions",
        {
            "id": sub,
            "organization_id": "$2::uuid",
            "external_id": "'sub_' || b.n",
            "customer_id": cus,
            "external_customer_id": "'cus_' || b.n",
            "plan_id": uuid_expression("p", "b.cur", "b.tier1"),
            "plan_code": _plan_code("b.tier1"),
            "plan_amount_cents": _plan_amount("b.tier1"),
            "plan_amount_currency": "b.cur",
            "status": "CASE WHEN b.fate < 20 THEN 'terminated' ELSE 'active' END",
            "billing_time": "'anniversary'",
            "subscription_at": "b.start_at",
            "started_at": "b.start_at",
            "terminated_at": "CASE WHEN b.fate < 20 THEN b.end_at END",
            "previous_plan_code": "CASE WHEN b.tier1 <> b.tier0 THEN "
            + _plan_code("b.tier0")
            + " END",
            "current_billing_period_started_at": "CASE WHEN b.fate >= 20 THEN b.end_at END",
            "current_billing_period_ending_at": "CASE WHEN b.fate >= 20"
            " THEN b.end_at + interval '1 month' END",
            "workflow_id": "'bench-sub-' || b.n",
            "created_at": "b.start_at",
            "updated_at": "b.start_at",
        },
        "FROM bench_cus b",
        *args,
    )
    inv = uuid_expression("i", "b.n", "b.j")
    await inserter.insert(
        "invoices",
        {
            "id": inv,
            "organization_id": "$2::uuid",
            "customer_id": cus,
            "subscription_id": sub,
            "invoice_type": "'subscription'",
            "kind": "'period_end'",
            "period_start": "b.period_start",
            "period_end": "b.period_end",
            "status": "CASE WHEN b.voided THEN 'voided' ELSE 'finalized' END",
            "payment_status": "b.pay",
            "currency": "b.cur",
            "issuing_date": "b.issuing_date",
            "sequential_id": "b.seq",
            "number": "'BENCH-' || lpad(b.seq::text, 7, '0')",
            "fees_amount_cents": "b.amount + b.usage_cents",
            "total_amount_cents": "b.amount + b.usage_cents",
            "total_paid_amount_cents": "CASE WHEN b.pay = 'succeeded'"
            " THEN b.amount + b.usage_cents ELSE 0 END",
            "net_payment_term": "30",
            "payment_due_date": "b.issuing_date + 30",
            "payment_overdue": "b.pay <> 'succeeded' AND b.issuing_date + 30 < current_date"
            " AND NOT b.voided",
            "finalized_at": "b.period_end",
            "voided_at": "CASE WHEN b.voided THEN b.period_end + interval '2 days' END",
            "created_at": "b.period_end",
            "updated_at": "b.period_end",
        },
        "FROM bench_inv b",
        *args,
    )
    common_fee = {
        "organization_id": "$2::uuid",
        "invoice_id": inv,
        "subscription_id": sub,
        "amount_currency": "b.cur",
        "from_datetime": "b.period_start",
        "to_datetime": "b.period_end",
        "created_at": "b.period_end",
        "updated_at": "b.period_end",
    }
    await inserter.insert(
        "fees",
        common_fee
        | {
            "id": uuid_expression("fs", "b.n", "b.j"),
            "position": "0",
            "fee_type": "'subscription'",
            "description": "initcap(split_part(" + _plan_code("b.tier") + ", '_', 1))",
            "item_code": _plan_code("b.tier"),
            "amount_cents": "b.amount",
            "precise_amount_cents": "b.amount",
            "units": "1",
        },
        "FROM bench_inv b",
        *args,
    )
    await inserter.insert(
        "fees",
        common_fee
        | {
            "id": uuid_expression("fc", "b.n", "b.j"),
            "charge_id": uuid_expression("ch", "b.cur", "b.tier"),
            "position": "1",
            "fee_type": "'charge'",
            "description": "'API calls'",
            "item_code": "'api_calls'",
            "amount_cents": "b.usage_cents",
            "precise_amount_cents": "b.usage_cents",
            "units": "b.usage_cents * 1000",
            "events_count": "b.usage_cents",
        },
        "FROM bench_inv b",
        *args,
    )
    for attempt in (1, 2):
        await inserter.insert(
            "payments",
            {
                "id": uuid_expression("pa", "b.n", "b.j", f"'{attempt}'"),
                "organization_id": "$2::uuid",
                "invoice_id": inv,
                "customer_id": cus,
                "provider": "'stripe'",
                "attempt": str(attempt),
                "amount_cents": "b.amount + b.usage_cents",
                "currency": "b.cur",
                "status": "b.pay",
                "provider_payment_id": f"'pi_' || b.n || '_' || b.j || '_{attempt}'",
                "idempotency_key": inv + f"::text || '-{attempt}'",
                "paid_at": "CASE WHEN b.pay = 'succeeded' THEN b.period_end END",
                "created_at": "b.period_end",
                "updated_at": "b.period_end",
            },
            "FROM bench_inv b WHERE NOT b.voided"
            + (" AND b.pay = 'failed'" if attempt == 2 else ""),
            *args,
        )
    credited = "FROM bench_inv b WHERE NOT b.voided AND b.hv % 100 = 1"
    half = "(b.amount / 2)"
    await inserter.insert(
        "credit_notes",
        {
            "id": uuid_expression("cn", "b.n", "b.j"),
            "organization_id": "$2::uuid",
            "customer_id": cus,
            "invoice_id": inv,
            "sequential_id": "1",
            "number": "'BENCH-' || lpad(b.seq::text, 7, '0') || '-CN1'",
            "issuing_date": "b.issuing_date + 5",
            "reason": "'other'",
            "currency": "b.cur",
            "credit_status": "CASE WHEN b.hv % 2 = 0 THEN 'available' END",
            "refund_status": "CASE WHEN b.hv % 2 = 1 THEN 'succeeded' END",
            "total_amount_cents": half,
            "taxes_amount_cents": "0",
            "taxes_rate": "0",
            "precise_taxes_amount_cents": "0",
            "sub_total_excluding_taxes_amount_cents": half,
            "coupons_adjustment_amount_cents": "0",
            "precise_coupons_adjustment_amount_cents": "0",
            "credit_amount_cents": f"CASE WHEN b.hv % 2 = 0 THEN {half} ELSE 0 END",
            "refund_amount_cents": f"CASE WHEN b.hv % 2 = 1 THEN {half} ELSE 0 END",
            "balance_amount_cents": f"CASE WHEN b.hv % 2 = 0 THEN {half} ELSE 0 END",
            "refunded_at": "CASE WHEN b.hv % 2 = 1 THEN b.period_end + interval '5 days' END",
            "created_at": "b.period_end + interval '5 days'",
            "updated_at": "b.period_end + interval '5 days'",
        },
        credited,
        *args,
    )
    await inserter.insert(
        "credit_note_items",
        {
            "id": uuid_expression("cni", "b.n", "b.j"),
            "organization_id": "$2::uuid",
            "credit_note_id": uuid_expression("cn", "b.n", "b.j"),
            "fee_id": uuid_expression("fs", "b.n", "b.j"),
            "position": "0",
            "amount_cents": half,
            "amount_currency": "b.cur",
            "coupons_adjustment_amount_cents": "0",
            "taxes_amount_cents": "0",
        },
        credited,
        *args,
    )
    await _movements(inserter, args)


async def _movements(inserter: Inserter, args: tuple[str, str]) -> None:
    """MRR movements and trials (branch h11-mrr), when their tables exist."""
    cus = uuid_expression("c", "b.n")
    sub = uuid_expression("s", "b.n")
    amount0, amount1 = _plan_amount("b.tier0"), _plan_amount("b.tier1")
    common = {
        "organization_id": "$2::uuid",
        "subscription_id": sub,
        "external_subscription_id": "'sub_' || b.n",
        "customer_id": cus,
        "currency": "b.cur",
    }
    halfway = "b.start_at + make_interval(months => b.k / 2)"
    changed = "b.tier1 <> b.tier0 AND b.k / 2 > 0"
    await inserter.insert(
        "mrr_movements",
        common
        | {
            "id": uuid_expression("mv", "b.n", "'1'"),
            "occurred_at": "b.start_at",
            "kind": "'new'",
            "seq": "1",
            "mrr_before_cents": "0",
            "mrr_after_cents": amount0,
            "delta_cents": amount0,
            "customer_mrr_after_cents": amount0,
            "plan_code_after": _plan_code("b.tier0"),
            "trial_conversion": "b.fate % 5 = 0",
            "created_at": "b.start_at",
            "updated_at": "b.start_at",
        },
        "FROM bench_cus b",
        *args,
    )
    await inserter.insert(
        "mrr_movements",
        common
        | {
            "id": uuid_expression("mv", "b.n", "'2'"),
            "occurred_at": halfway,
            "kind": "CASE WHEN b.tier1 > b.tier0 THEN 'expansion' ELSE 'contraction' END",
            "seq": "2",
            "mrr_before_cents": amount0,
            "mrr_after_cents": amount1,
            "delta_cents": f"{amount1} - {amount0}",
            "customer_mrr_after_cents": amount1,
            "plan_code_before": _plan_code("b.tier0"),
            "plan_code_after": _plan_code("b.tier1"),
            "created_at": halfway,
            "updated_at": halfway,
        },
        f"FROM bench_cus b WHERE {changed}",
        *args,
    )
    final = f"CASE WHEN {changed} THEN {amount1} ELSE {amount0} END"
    await inserter.insert(
        "mrr_movements",
        common
        | {
            "id": uuid_expression("mv", "b.n", "'3'"),
            "occurred_at": "b.end_at",
            "kind": "'churn'",
            "seq": f"CASE WHEN {changed} THEN 3 ELSE 2 END",
            "mrr_before_cents": final,
            "mrr_after_cents": "0",
            "delta_cents": f"-({final})",
            "customer_mrr_after_cents": "0",
            "plan_code_before": f"CASE WHEN {changed} THEN {_plan_code('b.tier1')}"
            f" ELSE {_plan_code('b.tier0')} END",
            "created_at": "b.end_at",
            "updated_at": "b.end_at",
        },
        "FROM bench_cus b WHERE b.fate < 20",
        *args,
    )
    await inserter.insert(
        "subscription_trials",
        {
            "id": uuid_expression("tr", "b.n"),
            "organization_id": "$2::uuid",
            "subscription_id": sub,
            "external_subscription_id": "'sub_' || b.n",
            "customer_id": cus,
            "currency": "b.cur",
            "started_at": "b.start_at - interval '14 days'",
            "ended_at": "b.start_at",
            "converted_at": "b.start_at",
            "created_at": "b.start_at - interval '14 days'",
            "updated_at": "b.start_at",
        },
        "FROM bench_cus b WHERE b.fate % 5 = 0",
        *args,
    )
