"""subscriptions: pause and resume (issue 10)

The mirror of a subscription's workflow shows its pause: when the current pause began,
when the workflow will resume it, and a pause scheduled at the end of the period. Each
pause is also kept as a row of subscription_pauses (audit: the days a base fee left out).

Revision ID: 0009h
Revises: 0009f
Create Date: 2026-12-05 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009h"
down_revision: str | None = "0009c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("paused_at", "resume_at", "scheduled_pause_at")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("subscriptions", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "subscription_pauses",
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resume_at", sa.DateTime(timezone=True), nullable=True),
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
            name=op.f("fk_subscription_pauses_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_subscription_pauses_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_pauses")),
        sa.UniqueConstraint(
            "organization_id",
            "external_id",
            "started_at",
            name=op.f("uq_subscription_pauses_organization_id_external_id_started_at"),
        ),
    )
    op.create_index(
        op.f("ix_subscription_pauses_organization_id"),
        "subscription_pauses",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_subscription_pauses_subscription_id"),
        "subscription_pauses",
        ["subscription_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("subscription_pauses")
    for name in reversed(COLUMNS):
        op.drop_column("subscriptions", name)
