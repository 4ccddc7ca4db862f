"""portal: the stored keys that sign customer-portal tokens, and top-ups by idempotency key
(issue 11)

Revision ID: 0010d
Revises: 0010f
Create Date: 2026-12-05 11:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010d"
down_revision: str | None = "0010f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_secrets",
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
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
            name=op.f("fk_portal_secrets_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_secrets")),
    )
    op.create_index(
        op.f("ix_portal_secrets_organization_id"), "portal_secrets", ["organization_id"]
    )
    op.create_index(
        "uq_portal_secrets_current",
        "portal_secrets",
        ["organization_id"],
        unique=True,
        postgresql_where=sa.text("retired_at IS NULL"),
    )
    op.create_table(
        "portal_top_ups",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("wallet_transaction_id", sa.Uuid(), nullable=False),
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
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_portal_top_ups_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wallet_transaction_id"],
            ["wallet_transactions.id"],
            name=op.f("fk_portal_top_ups_wallet_transaction_id_wallet_transactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_portal_top_ups_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_top_ups")),
        sa.UniqueConstraint(
            "customer_id",
            "idempotency_key",
            name=op.f("uq_portal_top_ups_customer_id_idempotency_key"),
        ),
    )
    op.create_index(
        op.f("ix_portal_top_ups_organization_id"), "portal_top_ups", ["organization_id"]
    )


def downgrade() -> None:
    op.drop_table("portal_top_ups")
    op.drop_table("portal_secrets")
