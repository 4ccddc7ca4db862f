"""dunning campaigns: campaigns, their thresholds, and the customer's dunning fields

Revision ID: 0012e
Revises: 0012d
Create Date: 2026-12-06 01:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012e"
down_revision: str | None = "0012d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
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


def upgrade() -> None:
    op.create_table(
        "dunning_campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("applied_to_organization", sa.Boolean(), nullable=False),
        sa.Column("days_between_attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("bcc_emails", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_dunning_campaigns_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_campaigns")),
    )
    op.create_index(
        op.f("ix_dunning_campaigns_organization_id"),
        "dunning_campaigns",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        "uq_dunning_campaigns_live_code",
        "dunning_campaigns",
        ["organization_id", "code"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "uq_dunning_campaigns_applied_to_organization",
        "dunning_campaigns",
        ["organization_id"],
        unique=True,
        postgresql_where=sa.text("applied_to_organization AND deleted_at IS NULL"),
    )
    op.create_table(
        "dunning_campaign_thresholds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dunning_campaign_id", sa.Uuid(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["dunning_campaign_id"],
            ["dunning_campaigns.id"],
            name=op.f("fk_dunning_campaign_thresholds_dunning_campaign_id_dunning_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_campaign_thresholds")),
        sa.UniqueConstraint(
            "dunning_campaign_id",
            "currency",
            name=op.f("uq_dunning_campaign_thresholds_dunning_campaign_id_currency"),
        ),
    )
    op.add_column("customers", sa.Column("applied_dunning_campaign_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_customers_applied_dunning_campaign_id_dunning_campaigns"),
        "customers",
        "dunning_campaigns",
        ["applied_dunning_campaign_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column(
        "customers",
        sa.Column(
            "exclude_from_dunning_campaign",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
        ),
    )
    op.add_column(
        "customers",
        sa.Column(
            "dunning_currency_attempts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column(
        "customers",
        sa.Column(
            "last_dunning_campaign_attempt", sa.Integer(), server_default="0", nullable=False
        ),
    )
    op.add_column(
        "customers",
        sa.Column("last_dunning_campaign_attempt_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("customers", "last_dunning_campaign_attempt_at")
    op.drop_column("customers", "last_dunning_campaign_attempt")
    op.drop_column("customers", "dunning_currency_attempts")
    op.drop_column("customers", "exclude_from_dunning_campaign")
    op.drop_constraint(
        op.f("fk_customers_applied_dunning_campaign_id_dunning_campaigns"),
        "customers",
        type_="foreignkey",
    )
    op.drop_column("customers", "applied_dunning_campaign_id")
    op.drop_table("dunning_campaign_thresholds")
    op.drop_table("dunning_campaigns")
