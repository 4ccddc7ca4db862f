"""events: the idempotency key becomes the primary key; no foreign key to organizations

Revision ID: 0003c
Revises: 0003b
Create Date: 2026-11-21 13:00:00.000000

Why: the events table takes every usage event. Its unique (organization_id,
transaction_id) constraint is the natural primary key, which saves the random-UUID
index on ``id``; and the per-row foreign-key check to organizations doubled the
database time of a batch insert. ``id`` (the Lago id) gets a server default.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003c"
down_revision: str | None = "0003b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("fk_events_organization_id_organizations", "events", type_="foreignkey")
    op.drop_constraint("pk_events", "events", type_="primary")
    op.drop_constraint("uq_events_organization_id_transaction_id", "events", type_="unique")
    op.create_primary_key("pk_events", "events", ["organization_id", "transaction_id"])
    op.alter_column("events", "id", server_default=sa.text("gen_random_uuid()"))


def downgrade() -> None:
    op.alter_column("events", "id", server_default=None)
    op.drop_constraint("pk_events", "events", type_="primary")
    op.create_primary_key("pk_events", "events", ["id"])
    op.create_unique_constraint(
        "uq_events_organization_id_transaction_id", "events", ["organization_id", "transaction_id"]
    )
    op.create_foreign_key(
        "fk_events_organization_id_organizations",
        "events",
        "organizations",
        ["organization_id"],
        ["id"],
        ondelete="CASCADE",
    )
