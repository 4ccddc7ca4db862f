"""an index for a customer's next sequential id (max per organization, under a lock)

Revision ID: 0013s
Revises: 0012h
Create Date: 2026-12-06 05:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013s"
down_revision: str | None = "0012h"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_customers_organization_id_sequential_id"


def upgrade() -> None:
    # Creating a customer reads max(sequential_id) of its organization while holding the
    # organization's customer lock: without this index that read scanned every customer of
    # the organization, so creating the 100,000th took a hundred times the first.
    op.create_index(INDEX, "customers", ["organization_id", "sequential_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="customers")
