"""coupon credits: what each applied coupon took off each finalized invoice

A void gives the coupon back what it took, as Lago's AppliedCoupons::RecreditService does.
Invoices finalized before this revision have no rows: their voids give nothing back, as
before.

Revision ID: 0010f
Revises: 0009b
Create Date: 2026-12-05 11:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010f"
down_revision: str | None = "0009b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "coupon_credits"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("applied_coupon_id", sa.Uuid(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("amount_currency", sa.String(length=3), nullable=False),
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
            name=op.f(f"fk_{TABLE}_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f(f"fk_{TABLE}_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["applied_coupon_id"],
            ["applied_coupons.id"],
            name=op.f(f"fk_{TABLE}_applied_coupon_id_applied_coupons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint(
            "invoice_id",
            "applied_coupon_id",
            name=op.f(f"uq_{TABLE}_invoice_id_applied_coupon_id"),
        ),
    )
    for column in ("organization_id", "invoice_id", "applied_coupon_id"):
        op.create_index(op.f(f"ix_{TABLE}_{column}"), TABLE, [column], unique=False)


def downgrade() -> None:
    op.drop_table(TABLE)
