"""Instant fees: fees of pay-in-advance charges, with or without an invoice (issue 10)

A pay-in-advance charge's fee is written when its event arrives. An invoiceable one gets
an invoice of its own; a non-invoiceable one has none (invoice_id null), and carries its
own payment status until it is paid (and, with regroup_paid_fees, put on an
advance_charges invoice at period end). One fee per (charge, event): the unique index on
the event's transaction id makes the reaction idempotent.

Revision ID: 0009a
Revises: 0009f (chained after main's 0009e and 0009f when main was merged in)
Create Date: 2026-12-05 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009a"
down_revision: str | None = "0009d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("fees", "invoice_id", existing_type=sa.Uuid(), nullable=True)
    op.add_column(
        "fees", sa.Column("pay_in_advance", sa.Boolean(), nullable=False, server_default="false")
    )
    op.add_column(
        "fees", sa.Column("invoiceable", sa.Boolean(), nullable=False, server_default="true")
    )
    op.add_column("fees", sa.Column("payment_status", sa.String(16), nullable=True))
    op.add_column("fees", sa.Column("pay_in_advance_event_transaction_id", sa.String(255)))
    for column in ("succeeded_at", "failed_at", "refunded_at"):
        op.add_column("fees", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "uq_fees_pay_in_advance_event",
        "fees",
        ["organization_id", "charge_id", "pay_in_advance_event_transaction_id"],
        unique=True,
        postgresql_where=sa.text("pay_in_advance_event_transaction_id IS NOT NULL"),
    )
    op.create_index(
        "ix_fees_subscription_pay_in_advance",
        "fees",
        ["subscription_id", "charge_id"],
        postgresql_where=sa.text("pay_in_advance"),
    )


def downgrade() -> None:
    op.drop_index("ix_fees_subscription_pay_in_advance", table_name="fees")
    op.drop_index("uq_fees_pay_in_advance_event", table_name="fees")
    for column in (
        "refunded_at",
        "failed_at",
        "succeeded_at",
        "pay_in_advance_event_transaction_id",
        "payment_status",
        "invoiceable",
        "pay_in_advance",
    ):
        op.drop_column("fees", column)
    op.execute("DELETE FROM fees WHERE invoice_id IS NULL")
    op.alter_column("fees", "invoice_id", existing_type=sa.Uuid(), nullable=False)
