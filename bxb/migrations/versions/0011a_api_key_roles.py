"""api key roles: many named keys per organization, each with a role, expiry and last use

Every existing key becomes the organization's "Default key" with the `admin` role, so
single-key organizations keep working unchanged after the upgrade. `rotated_from_id`
links a rotated key to the key it replaced (the old one expires at a chosen time).

Revision ID: 0011a
Revises: 0011c
Create Date: 2026-12-05 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011a"
down_revision: str | None = "0011c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "('admin', 'billing_admin', 'support', 'finance_viewer')"


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("name", sa.String(255), nullable=False, server_default="Default key"),
    )
    op.add_column(
        "api_keys", sa.Column("role", sa.String(32), nullable=False, server_default="admin")
    )
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True)))
    op.add_column("api_keys", sa.Column("last_used_at", sa.DateTime(timezone=True)))
    op.add_column(
        "api_keys",
        sa.Column(
            "rotated_from_id",
            sa.Uuid(),
            sa.ForeignKey("api_keys.id", ondelete="SET NULL"),
        ),
    )
    # The defaults only named the existing rows; new keys always say who and what.
    op.alter_column("api_keys", "name", server_default=None)
    op.alter_column("api_keys", "role", server_default=None)
    op.create_check_constraint("ck_api_keys_role", "api_keys", f"role IN {ROLES}")


def downgrade() -> None:
    op.drop_constraint("ck_api_keys_role", "api_keys")
    for column in ("rotated_from_id", "last_used_at", "expires_at", "role", "name"):
        op.drop_column("api_keys", column)
