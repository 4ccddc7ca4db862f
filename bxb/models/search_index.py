"""The indexes global search reads (migration 0011g), declared beside their tables.

One GIN index per searched table on (organization_id, document gin_trgm_ops), the
document being every searched column lowercased, each after a space; and a btree on
(organization_id, lower(key)) for exact ids and numbers. bxb/search builds its queries
from the same `document` function, so query and index expressions stay identical.
"""

from __future__ import annotations

from sqlalchemy import Index, text


def document(columns: tuple[str, ...], alias: str = "") -> str:
    """`(' ' || lower(coalesce(a, '')) || ' ' || lower(coalesce(b, '')) ...)`: immutable.

    The planner matches the index whatever the alias: it compares columns, not text."""
    prefix = f"{alias}." if alias else ""
    return "(" + " || ".join(f"' ' || lower(coalesce({prefix}{c}, ''))" for c in columns) + ")"


# table: (key, searched columns with the key first, the rows searched or None for all)
SEARCHED: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "customers": (
        "external_id",
        (
            "external_id",
            "name",
            "firstname",
            "lastname",
            "email",
            "legal_name",
            "tax_identification_number",
        ),
        "deleted_at IS NULL",
    ),
    "subscriptions": ("external_id", ("external_id", "name", "external_customer_id"), None),
    "invoices": ("number", ("number",), None),
    # Plan overrides are children of a plan (one per overridden subscription): not listed.
    "plans": (
        "code",
        ("code", "name", "invoice_display_name"),
        "deleted_at IS NULL AND parent_id IS NULL",
    ),
    "credit_notes": ("number", ("number",), None),
    "payments": ("provider_payment_id", ("provider_payment_id", "reference"), None),
}


def search_indexes(table: str) -> tuple[Index, Index]:
    key, columns, live = SEARCHED[table]
    where = text(live) if live else None
    return (
        Index(
            f"ix_{table}_search",
            "organization_id",
            text(f"{document(columns)} gin_trgm_ops"),
            postgresql_using="gin",
            postgresql_where=where,
        ),
        Index(
            f"ix_{table}_search_key",
            "organization_id",
            text(f"lower({key})"),
            postgresql_where=where,
        ),
    )
