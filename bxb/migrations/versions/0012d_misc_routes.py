"""misc routes: plan metadata, lost payment disputes, deleted in-advance fees

- plans.metadata: Lago's plan metadata (a key/value object, null when none);
- invoices.payment_dispute_lost_at: set by POST /invoices/{lago_id}/lose_dispute;
- deleted_fees: what remains of a pay-in-advance fee deleted through DELETE /fees/{lago_id}
  (the fee row is deleted, so the revenue rollup triggers take it back; this row keeps its
  event counted as billed, so the usage reaction never bills it again).

Revision ID: 0012d
Revises: 0012a
Create Date: 2026-12-06 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012d"
down_revision: str | None = "0012a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("plans", sa.Column("metadata", postgresql.JSONB(), nullable=True))
    op.add_column(
        "invoices", sa.Column("payment_dispute_lost_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "deleted_fees",
        sa.Column("fee_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=True),
        sa.Column("charge_id", sa.Uuid(), nullable=True),
        sa.Column("pay_in_advance_event_transaction_id", sa.String(length=255), nullable=True),
        sa.Column("from_datetime", sa.DateTime(timezone=True), nullable=True),
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
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_deleted_fees_charge_id_charges")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_deleted_fees_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_deleted_fees_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deleted_fees")),
    )
    op.create_index(op.f("ix_deleted_fees_organization_id"), "deleted_fees", ["organization_id"])
    op.create_index(
        "ix_deleted_fees_subscription_charge", "deleted_fees", ["subscription_id", "charge_id"]
    )


def downgrade() -> None:
    op.drop_table("deleted_fees")
    op.drop_column("invoices", "payment_dispute_lost_at")
    op.drop_column("plans", "metadata")
