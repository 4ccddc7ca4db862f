"""progressive billing: plan usage thresholds, applied thresholds, lifetime usages

Invoices take Lago's `progressive_billing` type (longer than the 16 characters the type
and kind had) and the usage of the period already billed progressively.

Revision ID: 0009b
Revises: 0009h
Create Date: 2026-12-05 07:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009b"
down_revision: str | None = "0009h"
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
    op.alter_column("invoices", "invoice_type", type_=sa.String(32), existing_type=sa.String(16))
    op.alter_column("invoices", "kind", type_=sa.String(32), existing_type=sa.String(16))
    op.add_column(
        "invoices",
        sa.Column(
            "progressive_billing_credit_amount_cents",
            sa.BigInteger(),
            server_default="0",
            nullable=False,
        ),
    )
    op.create_table(
        "usage_thresholds",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("threshold_display_name", sa.String(length=255), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("recurring", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *_tenant_columns("usage_thresholds"),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_usage_thresholds_plan_id_plans"),
            ondelete="CASCADE",
        ),
    )
    _index("usage_thresholds", "organization_id")
    _index("usage_thresholds", "plan_id")
    op.create_index(
        "uq_usage_thresholds_plan_recurring",
        "usage_thresholds",
        ["plan_id"],
        unique=True,
        postgresql_where=sa.text("recurring AND deleted_at IS NULL"),
    )
    op.create_index(
        "uq_usage_thresholds_plan_amount",
        "usage_thresholds",
        ["plan_id", "amount_cents", "recurring"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "applied_usage_thresholds",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("usage_threshold_id", sa.Uuid(), nullable=False),
        sa.Column("lifetime_usage_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("passed_threshold_amount_cents", sa.BigInteger(), nullable=False),
        *_tenant_columns("applied_usage_thresholds"),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_applied_usage_thresholds_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["usage_threshold_id"],
            ["usage_thresholds.id"],
            name=op.f("fk_applied_usage_thresholds_usage_threshold_id_usage_thresholds"),
        ),
    )
    _index("applied_usage_thresholds", "organization_id")
    _index("applied_usage_thresholds", "invoice_id")
    _index("applied_usage_thresholds", "usage_threshold_id")
    op.create_index(
        "uq_applied_usage_thresholds_invoice_threshold",
        "applied_usage_thresholds",
        ["invoice_id", "usage_threshold_id"],
        unique=True,
    )
    op.create_table(
        "lifetime_usages",
        sa.Column("external_subscription_id", sa.String(length=255), nullable=False),
        sa.Column("historical_usage_amount_cents", sa.BigInteger(), nullable=False),
        *_tenant_columns("lifetime_usages"),
    )
    _index("lifetime_usages", "organization_id")
    op.create_index(
        "uq_lifetime_usages_org_external_subscription",
        "lifetime_usages",
        ["organization_id", "external_subscription_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("lifetime_usages")
    op.drop_table("applied_usage_thresholds")
    op.drop_table("usage_thresholds")
    op.drop_column("invoices", "progressive_billing_credit_amount_cents")
    op.execute("DELETE FROM invoices WHERE invoice_type = 'progressive_billing'")
    op.alter_column("invoices", "kind", type_=sa.String(16), existing_type=sa.String(32))
    op.alter_column("invoices", "invoice_type", type_=sa.String(16), existing_type=sa.String(32))
