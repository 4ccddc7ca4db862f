"""Fixed charges of plans, and the fees they bill

Revision ID: 0009g
Revises: 0009f
Create Date: 2026-12-05 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009g"
down_revision: str | None = "0009f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fixed_charges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("add_on_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(255), nullable=False),
        sa.Column("invoice_display_name", sa.String(255), nullable=True),
        sa.Column("charge_model", sa.String(32), nullable=False),
        sa.Column("pay_in_advance", sa.Boolean(), nullable=False),
        sa.Column("prorated", sa.Boolean(), nullable=False),
        sa.Column("units", sa.Numeric(30, 10), nullable=False),
        sa.Column("properties", postgresql.JSONB(), nullable=False),
        sa.Column(
            "tax_ids", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_fixed_charges_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_fixed_charges_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["add_on_id"], ["add_ons.id"], name=op.f("fk_fixed_charges_add_on_id_add_ons")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["fixed_charges.id"],
            name=op.f("fk_fixed_charges_parent_id_fixed_charges"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fixed_charges")),
    )
    for column in ("organization_id", "plan_id", "add_on_id", "parent_id"):
        op.create_index(op.f(f"ix_fixed_charges_{column}"), "fixed_charges", [column])
    op.create_index(
        "uq_fixed_charges_live_code",
        "fixed_charges",
        ["plan_id", "code"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL AND parent_id IS NULL"),
    )
    op.add_column("fees", sa.Column("fixed_charge_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_fees_fixed_charge_id_fixed_charges"),
        "fees",
        "fixed_charges",
        ["fixed_charge_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_fees_fixed_charge_id_fixed_charges"), "fees", type_="foreignkey")
    op.drop_column("fees", "fixed_charge_id")
    op.drop_table("fixed_charges")
