"""multi-wallets: priority, code, applies_to, top-up limits, consumptions, recurring rules

- wallets: several active per customer (the one-active-wallet index goes), `code` unique
  per customer among active wallets, `priority` (1..50), `allowed_fee_types` and
  `billable_metric_codes` (applies_to), paid top-up limits,
  `invoice_requires_successful_payment`, `metadata` (Lago's key/value object), `traceable`
  (wallets created from now on record which funding each consumption drew from; older
  ones do not, as in Lago);
- wallet_transactions: `remaining_amount_cents` of inbound ones (traceable wallets),
  `priority`, `invoice_requires_successful_payment`, `trigger_key` (a recurring rule's
  top-up, unique per wallet: a period or threshold crossing tops up once); an invoice's
  consumption is unique per wallet (several wallets may pay one invoice);
- wallet_transaction_consumptions: outbound ← inbound, amount in cents;
- recurring_transaction_rules.

Revision ID: 0012a
Revises: 0012b
Create Date: 2026-12-06 01:50:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012a"
down_revision: str | None = "0012b"
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


def _jsonb() -> postgresql.JSONB[Any]:
    return postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.drop_index("uq_wallets_active_customer", table_name="wallets")
    op.add_column(
        "wallets", sa.Column("priority", sa.Integer(), server_default="50", nullable=False)
    )
    op.add_column(
        "wallets",
        sa.Column("allowed_fee_types", _jsonb(), server_default="[]", nullable=False),
    )
    op.add_column(
        "wallets",
        sa.Column("billable_metric_codes", _jsonb(), server_default="[]", nullable=False),
    )
    op.add_column(
        "wallets", sa.Column("paid_top_up_min_amount_cents", sa.BigInteger(), nullable=True)
    )
    op.add_column(
        "wallets", sa.Column("paid_top_up_max_amount_cents", sa.BigInteger(), nullable=True)
    )
    op.add_column(
        "wallets",
        sa.Column(
            "invoice_requires_successful_payment",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
        ),
    )
    op.add_column("wallets", sa.Column("metadata", _jsonb(), nullable=True))
    op.add_column(
        "wallets", sa.Column("traceable", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_index(
        "uq_wallets_active_customer_code",
        "wallets",
        ["customer_id", "code"],
        unique=True,
        postgresql_where=sa.text("status = 'active' AND code IS NOT NULL"),
    )

    op.add_column(
        "wallet_transactions", sa.Column("remaining_amount_cents", sa.BigInteger(), nullable=True)
    )
    op.add_column(
        "wallet_transactions",
        sa.Column("priority", sa.Integer(), server_default="50", nullable=False),
    )
    op.add_column(
        "wallet_transactions",
        sa.Column(
            "invoice_requires_successful_payment",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
        ),
    )
    op.add_column(
        "wallet_transactions", sa.Column("trigger_key", sa.String(length=255), nullable=True)
    )
    op.drop_index("uq_wallet_transactions_invoice_status", table_name="wallet_transactions")
    op.create_index(
        "uq_wallet_transactions_invoice_status",
        "wallet_transactions",
        ["invoice_id", "wallet_id", "transaction_status"],
        unique=True,
    )
    op.create_index(
        "uq_wallet_transactions_trigger_key",
        "wallet_transactions",
        ["wallet_id", "trigger_key", "transaction_status"],
        unique=True,
        postgresql_where=sa.text("trigger_key IS NOT NULL"),
    )

    op.create_table(
        "wallet_transaction_consumptions",
        sa.Column("inbound_wallet_transaction_id", sa.Uuid(), nullable=False),
        sa.Column("outbound_wallet_transaction_id", sa.Uuid(), nullable=False),
        sa.Column("consumed_amount_cents", sa.BigInteger(), nullable=False),
        *_tenant_columns(),
        sa.ForeignKeyConstraint(
            ["inbound_wallet_transaction_id"],
            ["wallet_transactions.id"],
            name="fk_wallet_transaction_consumptions_inbound",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbound_wallet_transaction_id"],
            ["wallet_transactions.id"],
            name="fk_wallet_transaction_consumptions_outbound",
            ondelete="CASCADE",
        ),
        _organization_fk("wallet_transaction_consumptions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_transaction_consumptions")),
        sa.CheckConstraint(
            "consumed_amount_cents > 0",
            name=op.f("ck_wallet_transaction_consumptions_positive_amount"),
        ),
    )
    for column in (
        "organization_id",
        "inbound_wallet_transaction_id",
        "outbound_wallet_transaction_id",
    ):
        op.create_index(
            op.f(f"ix_wallet_transaction_consumptions_{column}"),
            "wallet_transaction_consumptions",
            [column],
            unique=False,
        )

    op.create_table(
        "recurring_transaction_rules",
        sa.Column("wallet_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("interval", sa.String(length=16), nullable=True),
        sa.Column("threshold_credits", sa.Numeric(precision=30, scale=5), nullable=True),
        sa.Column("paid_credits", sa.Numeric(precision=30, scale=5), nullable=False),
        sa.Column("granted_credits", sa.Numeric(precision=30, scale=5), nullable=False),
        sa.Column("target_ongoing_balance", sa.Numeric(precision=30, scale=5), nullable=True),
        sa.Column("grants_target_top_up", sa.Boolean(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expiration_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invoice_requires_successful_payment", sa.Boolean(), nullable=False),
        sa.Column("ignore_paid_top_up_limits", sa.Boolean(), nullable=False),
        sa.Column("transaction_metadata", _jsonb(), nullable=False),
        sa.Column("transaction_name", sa.String(length=255), nullable=True),
        *_tenant_columns(),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["wallets.id"],
            name=op.f("fk_recurring_transaction_rules_wallet_id_wallets"),
            ondelete="CASCADE",
        ),
        _organization_fk("recurring_transaction_rules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_transaction_rules")),
    )
    for column in ("organization_id", "wallet_id"):
        op.create_index(
            op.f(f"ix_recurring_transaction_rules_{column}"),
            "recurring_transaction_rules",
            [column],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("recurring_transaction_rules")
    op.drop_table("wallet_transaction_consumptions")
    op.drop_index("uq_wallet_transactions_trigger_key", table_name="wallet_transactions")
    op.drop_index("uq_wallet_transactions_invoice_status", table_name="wallet_transactions")
    op.create_index(
        "uq_wallet_transactions_invoice_status",
        "wallet_transactions",
        ["invoice_id", "transaction_status"],
        unique=True,
    )
    for column in (
        "trigger_key",
        "invoice_requires_successful_payment",
        "priority",
        "remaining_amount_cents",
    ):
        op.drop_column("wallet_transactions", column)
    op.drop_index("uq_wallets_active_customer_code", table_name="wallets")
    for column in (
        "traceable",
        "metadata",
        "invoice_requires_successful_payment",
        "paid_top_up_max_amount_cents",
        "paid_top_up_min_amount_cents",
        "billable_metric_codes",
        "allowed_fee_types",
        "priority",
    ):
        op.drop_column("wallets", column)
    op.create_index(
        "uq_wallets_active_customer",
        "wallets",
        ["customer_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
