"""credit notes

Revision ID: 0007b
Revises: 0007a
Create Date: 2026-11-21 15:40:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007b"
down_revision: str | None = "0007a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_columns(table: str) -> list[Any]:
    return [
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
            ["organization_id"],
            ["organizations.id"],
            name=op.f(f"fk_{table}_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _index(table: str, column: str) -> None:
    op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "credit_notes",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("sequential_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("issuing_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credit_status", sa.String(length=16), nullable=True),
        sa.Column("refund_status", sa.String(length=16), nullable=True),
        sa.Column("total_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("taxes_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("taxes_rate", sa.Numeric(precision=10, scale=5), nullable=False),
        sa.Column("precise_taxes_amount_cents", sa.Numeric(precision=40, scale=15), nullable=False),
        sa.Column("sub_total_excluding_taxes_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("coupons_adjustment_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column(
            "precise_coupons_adjustment_amount_cents",
            sa.Numeric(precision=40, scale=15),
            nullable=False,
        ),
        sa.Column("credit_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("refund_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("balance_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("applied_taxes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        *_tenant_columns("credit_notes"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_credit_notes_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_credit_notes_idempotency_key")),
    )
    _index("credit_notes", "invoice_id")
    _index("credit_notes", "organization_id")
    op.create_index(
        "uq_credit_notes_invoice_id_sequential_id",
        "credit_notes",
        ["invoice_id", "sequential_id"],
        unique=True,
    )
    op.create_index(
        "ix_credit_notes_customer_id_credit_status",
        "credit_notes",
        ["customer_id", "credit_status"],
        unique=False,
    )

    op.create_table(
        "credit_note_items",
        sa.Column("credit_note_id", sa.Uuid(), nullable=False),
        sa.Column("fee_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_currency", sa.String(length=3), nullable=False),
        sa.Column("coupons_adjustment_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("taxes_amount_cents", sa.BigInteger(), nullable=False),
        *_tenant_columns("credit_note_items"),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name=op.f("fk_credit_note_items_credit_note_id_credit_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["fee_id"], ["fees.id"], name=op.f("fk_credit_note_items_fee_id_fees")
        ),
    )
    _index("credit_note_items", "credit_note_id")
    _index("credit_note_items", "fee_id")
    _index("credit_note_items", "organization_id")

    op.create_table(
        "credit_note_applications",
        sa.Column("credit_note_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_currency", sa.String(length=3), nullable=False),
        *_tenant_columns("credit_note_applications"),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name=op.f("fk_credit_note_applications_credit_note_id_credit_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_credit_note_applications_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
    )
    _index("credit_note_applications", "credit_note_id")
    _index("credit_note_applications", "organization_id")
    op.create_index(
        "uq_credit_note_applications_invoice_id_credit_note_id",
        "credit_note_applications",
        ["invoice_id", "credit_note_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("credit_note_applications")
    op.drop_table("credit_note_items")
    op.drop_table("credit_notes")
