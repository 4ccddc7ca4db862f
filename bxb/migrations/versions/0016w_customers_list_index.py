"""an index for the customers list's order (newest first, one organization's live customers)

Revision ID: 0016w
Revises: 0015b
Create Date: 2026-12-06 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016w"
down_revision: str | None = "0015b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_customers_live_created_at"


def upgrade() -> None:
    # GET /customers (and the web app's customers page) reads one page of an organization's
    # live customers ordered by created_at DESC, id DESC. Without this index each page read
    # and sorted every customer of the organization: 120 ms at 100,000 customers, against
    # 0.1 ms for the first pages with it (bench/web_customers.py).
    op.create_index(
        INDEX,
        "customers",
        ["organization_id", "created_at", "id"],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="customers")
