"""organizations: logo_url and brand_color, the customer portal pages' branding

Revision ID: 0015b
Revises: 0014a
Create Date: 2026-12-06 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015b"
down_revision: str | None = "0014a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organizations", sa.Column("logo_url", sa.String(1024), nullable=True))
    op.add_column("organizations", sa.Column("brand_color", sa.String(7), nullable=True))


def downgrade() -> None:
    op.drop_column("organizations", "brand_color")
    op.drop_column("organizations", "logo_url")
