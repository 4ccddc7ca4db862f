"""Fees keep their precise taxes and coupons; true-up fees point at their parent

Taxes are rounded once per tax of an invoice (Lago's way): a fee keeps its unrounded tax
(`taxes_precise_amount_cents`) and its unrounded share of coupons
(`precise_coupons_amount_cents`). A charge's minimum (`min_amount_cents`) bills a true-up
fee whose `true_up_parent_fee_id` is the charge's fee.

Revision ID: 0009e
Revises: 0008c
Create Date: 2026-12-05 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009e"
down_revision: str | None = "0008c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "fees",
        sa.Column(
            "taxes_precise_amount_cents",
            sa.Numeric(precision=40, scale=15),
            nullable=False,
            server_default="0",
        ),
    )
    op.add_column(
        "fees",
        sa.Column(
            "precise_coupons_amount_cents",
            sa.Numeric(precision=40, scale=15),
            nullable=False,
            server_default="0",
        ),
    )
    # Fees written before: their rounded figures are the best precise ones there are.
    op.execute(
        "UPDATE fees SET taxes_precise_amount_cents = taxes_amount_cents, "
        "precise_coupons_amount_cents = coupons_amount_cents"
    )
    op.add_column(
        "fees",
        sa.Column(
            "true_up_parent_fee_id",
            sa.Uuid(),
            sa.ForeignKey("fees.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("fees", "true_up_parent_fee_id")
    op.drop_column("fees", "precise_coupons_amount_cents")
    op.drop_column("fees", "taxes_precise_amount_cents")
