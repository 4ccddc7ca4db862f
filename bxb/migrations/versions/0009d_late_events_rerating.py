"""Late events: the organization's setting, invoices' usage windows, re-ratings

- organizations.late_events_rerating (default true): whether an event whose timestamp
  falls in a period already invoiced re-rates that period.
- invoices.usage_windows: the usage windows (plan snapshot, from, to) the invoice's charge
  fees were computed from, so a re-rating runs the same computation with the same charges.
- late_event_reratings: one row per re-rating of a finalized invoice, unique on
  (invoice_id, sequence): what the usage amounts to now, and the credit note and/or the
  corrective invoice it produced.

Revision ID: 0009d
Revises: 0008c
Create Date: 2026-12-05 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009d"
down_revision: str | None = "0009g"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "late_event_reratings"


def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("late_events_rerating", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "invoices",
        sa.Column("usage_windows", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_table(
        TABLE,
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("external_subscription_id", sa.String(length=255), nullable=False),
        sa.Column("amounts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("events_counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("credit_note_id", sa.Uuid(), nullable=True),
        sa.Column("corrective_invoice_id", sa.Uuid(), nullable=True),
        sa.Column("rerated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f(f"fk_{TABLE}_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name=op.f(f"fk_{TABLE}_credit_note_id_credit_notes"),
        ),
        sa.ForeignKeyConstraint(
            ["corrective_invoice_id"],
            ["invoices.id"],
            name=op.f(f"fk_{TABLE}_corrective_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f(f"fk_{TABLE}_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("invoice_id", "sequence", name=op.f(f"uq_{TABLE}_invoice_id_sequence")),
    )
    op.create_index(op.f(f"ix_{TABLE}_organization_id"), TABLE, ["organization_id"], unique=False)


def downgrade() -> None:
    op.drop_table(TABLE)
    op.drop_column("invoices", "usage_windows")
    op.drop_column("organizations", "late_events_rerating")
