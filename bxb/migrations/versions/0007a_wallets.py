"""wallets

Revision ID: 0007a
Revises: 0006
Create Date: 2026-11-21 15:30:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007a"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_columns() -> list[sa.Column[Any]]:
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
    ]


def _organization_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id"],
        ["organizations.id"],
        name=op.f(f"fk_{table}_organization_id_organizations"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "wallets",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("code", sa.String(length=255), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate_amount", sa.Numeric(precision=30, scale=15), nullable=False),
        sa.Column("credits_balance", sa.Numeric(precision=30, scale=5), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("consumed_credits", sa.Numeric(precision=30, scale=5), nullable=False),
        sa.Column("consumed_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("expiration_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_balance_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_consumed_credit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("terminated_at", sa.DateTime(timezone=True), nullable=True),
        *_tenant_columns(),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_wallets_customer_id_customers")
        ),
        _organization_fk("wallets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallets")),
    )
    op.create_index(op.f("ix_wallets_customer_id"), "wallets", ["customer_id"], unique=False)
    op.create_index(
        op.f("ix_wallets_organization_id"), "wallets", ["organization_id"], unique=False
    )
    op.create_index(
        "uq_wallets_active_customer",
        "wallets",
        ["customer_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "wallet_transactions",
        sa.Column("wallet_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("transaction_status", sa.String(length=16), nullable=False),
        sa.Column("transaction_type", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("credit_amount", sa.Numeric(precision=30, scale=5), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        *_tenant_columns(),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_wallet_transactions_invoice_id_invoices"),
        ),
        _organization_fk("wallet_transactions"),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["wallets.id"],
            name=op.f("fk_wallet_transactions_wallet_id_wallets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_transactions")),
    )
    op.create_index(
        op.f("ix_wallet_transactions_organization_id"),
        "wallet_transactions",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_wallet_transactions_wallet_id"),
        "wallet_transactions",
        ["wallet_id"],
        unique=False,
    )
    op.create_index(
        "uq_wallet_transactions_invoice_status",
        "wallet_transactions",
        ["invoice_id", "transaction_status"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("wallet_transactions")
    op.drop_table("wallets")
