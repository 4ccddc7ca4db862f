"""global search: trigram indexes on what /api/v1/search reads

pg_trgm (and btree_gin, so that one GIN index holds the organization and the trigrams:
the organization is matched inside the index scan, never by fetching other rows) and,
per searched table:

- a GIN index on (organization_id, document gin_trgm_ops), the document being every
  searched column lowercased, each after a space (bxb/search/documents.py builds the same
  expression; the two must stay identical for the planner to use the index);
- a btree index on (organization_id, lower(key)) for exact id and number matches, which
  rank first.

Revision ID: 0011g
Revises: 0011a
Create Date: 2026-12-05 19:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011g"
down_revision: str | None = "0011a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table, key, searched columns (key first), rows searched: as in bxb/search/documents.py,
# frozen here as of this revision.
SEARCHED: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    (
        "customers",
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
    ("subscriptions", "external_id", ("external_id", "name", "external_customer_id"), None),
    ("invoices", "number", ("number",), None),
    (
        "plans",
        "code",
        ("code", "name", "invoice_display_name"),
        "deleted_at IS NULL AND parent_id IS NULL",
    ),
    ("credit_notes", "number", ("number",), None),
    ("payments", "provider_payment_id", ("provider_payment_id", "reference"), None),
)


def _document(columns: tuple[str, ...]) -> str:
    return "(" + " || ".join(f"' ' || lower(coalesce({c}, ''))" for c in columns) + ")"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    for table, key, columns, live in SEARCHED:
        where = f" WHERE {live}" if live else ""
        op.execute(
            f"CREATE INDEX ix_{table}_search ON {table} USING gin"
            f" (organization_id, {_document(columns)} gin_trgm_ops){where}"
        )
        op.execute(
            f"CREATE INDEX ix_{table}_search_key ON {table} (organization_id, lower({key})){where}"
        )


def downgrade() -> None:
    for table, _, _, _ in SEARCHED:
        op.execute(f"DROP INDEX ix_{table}_search_key")
        op.execute(f"DROP INDEX ix_{table}_search")
    # The extensions stay: other objects may have come to depend on them.
