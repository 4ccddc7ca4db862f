"""features, privileges, entitlements, entitlement values and removals (issue 10)

Revision ID: 0009f
Revises: 0008c
Create Date: 2026-12-05 07:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009f"
down_revision: str | None = "0009e"
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


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def _org_index(table: str) -> None:
    op.create_index(f"ix_{table}_organization_id", table, ["organization_id"])


def upgrade() -> None:
    op.create_table(
        "features",
        sa.Column("code", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *_tenant_columns(),
        _fk("features", "organization_id", "organizations"),
        sa.PrimaryKeyConstraint("id", name="pk_features"),
    )
    _org_index("features")
    op.create_index(
        "uq_features_live_code",
        "features",
        ["organization_id", "code"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "privileges",
        sa.Column("feature_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("value_type", sa.String(16), nullable=False),
        sa.Column(
            "config",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *_tenant_columns(),
        _fk("privileges", "organization_id", "organizations"),
        _fk("privileges", "feature_id", "features"),
        sa.PrimaryKeyConstraint("id", name="pk_privileges"),
    )
    _org_index("privileges")
    op.create_index("ix_privileges_feature_id", "privileges", ["feature_id"])
    op.create_index(
        "uq_privileges_live_code",
        "privileges",
        ["feature_id", "code"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "entitlements",
        sa.Column("feature_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("subscription_id", sa.Uuid(), nullable=True),
        *_tenant_columns(),
        sa.CheckConstraint(
            "(plan_id IS NULL) <> (subscription_id IS NULL)",
            name="ck_entitlements_one_plan_or_subscription",
        ),
        _fk("entitlements", "organization_id", "organizations"),
        _fk("entitlements", "feature_id", "features"),
        _fk("entitlements", "plan_id", "plans"),
        _fk("entitlements", "subscription_id", "subscriptions"),
        sa.PrimaryKeyConstraint("id", name="pk_entitlements"),
    )
    _org_index("entitlements")
    op.create_index("ix_entitlements_feature_id", "entitlements", ["feature_id"])
    op.create_index(
        "uq_entitlements_plan_feature", "entitlements", ["plan_id", "feature_id"], unique=True
    )
    op.create_index(
        "uq_entitlements_subscription_feature",
        "entitlements",
        ["subscription_id", "feature_id"],
        unique=True,
    )
    op.create_table(
        "entitlement_values",
        sa.Column("entitlement_id", sa.Uuid(), nullable=False),
        sa.Column("privilege_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        *_tenant_columns(),
        _fk("entitlement_values", "organization_id", "organizations"),
        _fk("entitlement_values", "entitlement_id", "entitlements"),
        _fk("entitlement_values", "privilege_id", "privileges"),
        sa.PrimaryKeyConstraint("id", name="pk_entitlement_values"),
    )
    _org_index("entitlement_values")
    op.create_index("ix_entitlement_values_privilege_id", "entitlement_values", ["privilege_id"])
    op.create_index(
        "uq_entitlement_values_privilege",
        "entitlement_values",
        ["entitlement_id", "privilege_id"],
        unique=True,
    )
    op.create_table(
        "entitlement_removals",
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("feature_id", sa.Uuid(), nullable=True),
        sa.Column("privilege_id", sa.Uuid(), nullable=True),
        *_tenant_columns(),
        sa.CheckConstraint(
            "(feature_id IS NULL) <> (privilege_id IS NULL)",
            name="ck_entitlement_removals_one_feature_or_privilege",
        ),
        _fk("entitlement_removals", "organization_id", "organizations"),
        _fk("entitlement_removals", "subscription_id", "subscriptions"),
        _fk("entitlement_removals", "feature_id", "features"),
        _fk("entitlement_removals", "privilege_id", "privileges"),
        sa.PrimaryKeyConstraint("id", name="pk_entitlement_removals"),
    )
    _org_index("entitlement_removals")
    op.create_index("ix_entitlement_removals_feature_id", "entitlement_removals", ["feature_id"])
    op.create_index(
        "ix_entitlement_removals_privilege_id", "entitlement_removals", ["privilege_id"]
    )
    op.create_index(
        "uq_entitlement_removals_feature",
        "entitlement_removals",
        ["subscription_id", "feature_id"],
        unique=True,
    )
    op.create_index(
        "uq_entitlement_removals_privilege",
        "entitlement_removals",
        ["subscription_id", "privilege_id"],
        unique=True,
    )


def downgrade() -> None:
    for table in (
        "entitlement_removals",
        "entitlement_values",
        "entitlements",
        "privileges",
        "features",
    ):
        op.drop_table(table)
