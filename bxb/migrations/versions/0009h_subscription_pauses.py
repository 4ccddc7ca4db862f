"""subscriptions: pause and resume (issue 10)

The mirror of a subscription's workflow shows its pause: when the current pause began,
when the workflow will resume it, and a pause scheduled at the end of the period.

Revision ID: 0009h
Revises: 0008c
Create Date: 2026-12-05 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009h"
down_revision: str | None = "0008c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("paused_at", "resume_at", "scheduled_pause_at")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("subscriptions", sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for name in reversed(COLUMNS):
        op.drop_column("subscriptions", name)
