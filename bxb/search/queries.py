"""One SQL statement per searched type: candidates from the indexes, ranked, limited.

Candidates are the exact key matches (btree on lower(key)) and the trigram matches of the
document (GIN), the latter capped (CANDIDATES) so that a query matching half the
organization (an email domain) costs the same as a rare one; the cap is on candidates,
not answers: exact key matches are always among them. The statements are built once from
bxb/search/documents.py; the user's text only ever arrives as bound parameters.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Float, Integer, String, TextualSelect, Uuid, column, text
from sqlalchemy.dialects.postgresql import JSONB

from bxb.search.documents import (
    CREDIT_NOTES,
    CUSTOMERS,
    INVOICES,
    PAYMENTS,
    PLANS,
    SUBSCRIPTIONS,
    SearchedTable,
)

CANDIDATES = 200

_CUSTOMER = "LEFT JOIN customers c ON c.id = t.customer_id"
_INVOICE = "LEFT JOIN invoices i ON i.id = t.invoice_id"


@dataclass(frozen=True)
class TypeQuery:
    searched: SearchedTable
    select: tuple[str, ...]  # what a hit shows, beyond t.id ("expr AS name" or "t.name")
    joins: str = ""  # for display only: run on the candidates, never on the whole table
    also_equal: tuple[str, ...] = ()  # joined columns whose exact match ranks second
    more_candidates: str = ""  # another indexed way to find rows, UNIONed

    def ranked(self) -> str:
        """This type's best :limit rows: (type, id, position, tier, score, fields as jsonb).

        Candidates are read whole by the index scans that find them (the heap is visited
        for the recheck anyway), each found once: the trigram branch leaves out the exact
        key matches. They are ranked and limited; only then are the display joins made,
        on the few rows left."""
        s = self.searched
        doc = s.document()
        equal = ", ".join([f"lower(t.{c})" for c in s.columns] + list(self.also_equal))
        not_exact = f"lower(t.{s.key}) IS DISTINCT FROM :s"
        more = (
            f"UNION ALL ({self.more_candidates} AND {not_exact} AND {doc} NOT LIKE :pattern"
            " LIMIT :cap)"
            if self.more_candidates
            else ""
        )
        fields = ", ".join(f"'{_name(e)}', {_expr(e)}" for e in self.select)
        order = "tier DESC, score DESC, created_at DESC, id"
        return f"""(
    WITH ranked AS (
        SELECT t.*,
            CASE WHEN lower(t.{s.key}) = :s THEN 3
                 WHEN :s = ANY(ARRAY[{equal}]) THEN 2
                 WHEN {doc} LIKE :word THEN 1
                 ELSE 0 END AS tier,
            word_similarity(:s, {doc}) AS score
        FROM (
            (SELECT t.* FROM {s.table} t
             WHERE t.organization_id = :org AND {s.live} AND lower(t.{s.key}) = :s
             LIMIT :cap)
            UNION ALL
            (SELECT t.* FROM {s.table} t
             WHERE t.organization_id = :org AND {s.live} AND {doc} LIKE :pattern
                AND {not_exact}
             LIMIT :cap)
            {more}
        ) t
        ORDER BY {order}
        LIMIT :limit
    )
    SELECT '{s.type}' AS type, t.id, row_number() OVER (ORDER BY {_on("t", order)}) AS position,
        t.tier, t.score, jsonb_build_object({fields}) AS fields
    FROM ranked t {self.joins}
)"""  # noqa: S608 - built from constants; the query is bound


def _on(alias: str, order: str) -> str:
    return ", ".join(f"{alias}.{part.strip()}" for part in order.split(","))


def _name(select: str) -> str:
    return select.rsplit(" AS ", 1)[1] if " AS " in select else select.split(".", 1)[1]


def _expr(select: str) -> str:
    return select.rsplit(" AS ", 1)[0]


QUERIES: dict[str, TypeQuery] = {
    q.searched.type: q
    for q in (
        TypeQuery(
            CUSTOMERS,
            (
                "t.external_id",
                "t.name",
                "t.firstname",
                "t.lastname",
                "t.email",
                "t.legal_name",
                "t.tax_identification_number",
            ),
        ),
        TypeQuery(
            SUBSCRIPTIONS,
            (
                "t.external_id",
                "t.name",
                "t.external_customer_id",
                "t.customer_id",
                "t.plan_code",
                "t.status",
            ),
        ),
        TypeQuery(
            INVOICES,
            (
                "t.number",
                "t.status",
                "t.payment_status",
                "t.currency",
                "t.total_amount_cents",
                "t.issuing_date",
                "t.customer_id",
                "c.external_id AS external_customer_id",
                "c.name AS customer_name",
            ),
            joins=_CUSTOMER,
            also_equal=(
                "(SELECT lower(e.external_id) FROM customers e WHERE e.id = t.customer_id)",
            ),
            # An invoice is also found by its customer's external id, exactly.
            more_candidates="""
    SELECT t.* FROM customers c JOIN invoices t ON t.customer_id = c.id
    WHERE c.organization_id = :org AND c.deleted_at IS NULL AND lower(c.external_id) = :s
        AND t.organization_id = :org""",
        ),
        TypeQuery(
            PLANS,
            (
                "t.code",
                "t.name",
                "t.invoice_display_name",
                "t.interval",
                "t.amount_cents",
                "t.amount_currency",
            ),
        ),
        TypeQuery(
            CREDIT_NOTES,
            (
                "t.number",
                "t.credit_status",
                "t.refund_status",
                "t.total_amount_cents",
                "t.currency",
                "t.invoice_id",
                "i.number AS invoice_number",
                "t.customer_id",
                "c.external_id AS external_customer_id",
            ),
            joins=f"{_CUSTOMER} {_INVOICE}",
        ),
        TypeQuery(
            PAYMENTS,
            (
                "t.provider_payment_id",
                "t.reference",
                "t.status",
                "t.amount_cents",
                "t.currency",
                "t.invoice_id",
                "i.number AS invoice_number",
                "t.customer_id",
                "c.external_id AS external_customer_id",
            ),
            joins=f"{_CUSTOMER} {_INVOICE}",
        ),
    )
}


def sql(types: tuple[str, ...]) -> str:
    """The SQL text of `statement(types)` (for EXPLAIN in the bench and the tests)."""
    return "\nUNION ALL\n".join(QUERIES[t].ranked() for t in types)


@functools.cache
def statement(types: tuple[str, ...]) -> TextualSelect:
    """One statement for the asked types (one round trip, one plan), best first per type."""
    return text(sql(types)).columns(
        column("type", String),
        column("id", Uuid),
        column("position", Integer),
        column("tier", Integer),
        column("score", Float),
        column("fields", JSONB),
    )
