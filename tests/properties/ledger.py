"""One organization's ledger, read from PostgreSQL in one snapshot, and how checks report."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class Ledger:
    """One organization's rows, read in one REPEATABLE READ snapshot."""

    prefix: str
    invoices: list[Any]
    fees: list[Any]
    notes: list[Any]
    items: list[Any]
    applications: list[Any]
    payments: list[Any]
    wallets: list[Any]
    wallet_transactions: list[Any]
    applied_coupons: list[Any]
    events: list[Any]
    subscriptions: list[Any]
    pauses: list[Any]
    fees_of: dict[uuid.UUID, list[Any]] = field(init=False)

    def __post_init__(self) -> None:
        fees_of: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for fee in self.fees:
            fees_of[fee.invoice_id].append(fee)
        self.fees_of = dict(fees_of)


_QUERIES = {
    "invoices": "SELECT i.*, c.external_id AS customer FROM invoices i "
    "JOIN customers c ON c.id = i.customer_id WHERE i.organization_id = :org",
    "fees": "SELECT f.*, coalesce(p.code, f.item_code) AS plan_code FROM fees f "
    "LEFT JOIN charges ch ON ch.id = f.charge_id LEFT JOIN plans p ON p.id = ch.plan_id "
    "WHERE f.organization_id = :org",
    "notes": "SELECT * FROM credit_notes WHERE organization_id = :org",
    "items": "SELECT * FROM credit_note_items WHERE organization_id = :org",
    "applications": "SELECT * FROM credit_note_applications WHERE organization_id = :org",
    "payments": "SELECT * FROM payments WHERE organization_id = :org",
    "wallets": "SELECT * FROM wallets WHERE organization_id = :org",
    "wallet_transactions": "SELECT * FROM wallet_transactions WHERE organization_id = :org",
    "applied_coupons": "SELECT a.*, c.code, cu.external_id AS customer FROM applied_coupons a "
    "JOIN coupons c ON c.id = a.coupon_id JOIN customers cu ON cu.id = a.customer_id "
    "WHERE a.organization_id = :org",
    "events": "SELECT external_subscription_id, timestamp, properties FROM events "
    "WHERE organization_id = :org",
    "subscriptions": "SELECT * FROM subscriptions WHERE organization_id = :org",
    "pauses": "SELECT * FROM subscription_pauses WHERE organization_id = :org",
}


async def read_ledger(engine: AsyncEngine, organization_id: uuid.UUID) -> Ledger:
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            params = {"org": organization_id}
            rows = {
                name: list(await conn.execute(text(sql), params)) for name, sql in _QUERIES.items()
            }
            prefix = await conn.scalar(
                text("SELECT document_number_prefix FROM organizations WHERE id = :org"), params
            )
    return Ledger(
        prefix=str(prefix),
        invoices=rows["invoices"],
        fees=rows["fees"],
        notes=rows["notes"],
        items=rows["items"],
        applications=rows["applications"],
        payments=rows["payments"],
        wallets=rows["wallets"],
        wallet_transactions=rows["wallet_transactions"],
        applied_coupons=rows["applied_coupons"],
        events=rows["events"],
        subscriptions=rows["subscriptions"],
        pauses=rows["pauses"],
    )


def paused(ledger: Ledger, external_id: str, start: Any, end: Any | None = None) -> bool:
    """[start, end) lies inside one pause of the subscription, or (no end) the instant
    start does: pauses run from their start to their end, excluded, and are not billed."""
    return any(
        p.external_id == external_id
        and p.started_at <= start
        and (p.ended_at is None or (start < p.ended_at if end is None else end <= p.ended_at))
        for p in ledger.pauses
    )


def round_cents(exact: Decimal) -> int:
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Violations:
    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, ok: bool, rule: str, row: Any) -> None:
        if not ok:
            self.found.append(f"{rule}: {row}")

    def raise_any(self) -> None:
        if self.found:
            raise AssertionError("ledger invariants broken:\n  " + "\n  ".join(self.found[:20]))


def deduction_lines(invoice: Any, fees: list[Any]) -> list[Any]:
    """Credit lines (unused prepaid days) of a subscription invoice: not charges."""
    if invoice.invoice_type == "credit":
        return []
    return [fee for fee in fees if fee.fee_type == "credit"]
