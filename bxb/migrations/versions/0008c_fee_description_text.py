"""fees.description is TEXT

A fee's description is composed from names (a plan's, a metric's, a filter's values), so
it has no fixed length; as VARCHAR(255) a long composition failed the activity writing
the invoice, and the subscription's workflow retried it forever.

Revision ID: 0008c
Revises: 0008b
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008c"
down_revision: str | None = "0008b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("fees", "description", type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    op.alter_column(
        "fees",
        "description",
        type_=sa.String(255),
        existing_nullable=False,
        postgresql_using="left(description, 255)",
    )
