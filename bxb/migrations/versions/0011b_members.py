"""members: people who sign in (members), their invitations, browser sessions, password
resets, and the failed sign-in counters of the lockout (issue 12)

Revision ID: 0011b
Revises: 0010g
Create Date: 2026-12-05 18:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011b"
down_revision: str | None = "0010g"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)
        for name in ("created_at", "updated_at")
    ]


def _tenant_table(table: str, *columns: sa.Column[object], member_fk: str | None = None) -> None:
    """A table with TenantMixin's columns (id, organization_id, timestamps)."""
    constraints: list[sa.Constraint] = [
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f(f"fk_{table}_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]
    if member_fk is not None:
        constraints.append(
            sa.ForeignKeyConstraint(
                ["member_id"],
                ["members.id"],
                name=op.f(f"fk_{table}_member_id_members"),
                ondelete=member_fk,
            )
        )
    op.create_table(
        table,
        *columns,
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_timestamps(),
        *constraints,
    )
    op.create_index(op.f(f"ix_{table}_organization_id"), table, ["organization_id"])


def _token_hash() -> sa.Column[object]:
    return sa.Column("token_hash", sa.String(64), nullable=False)


def _stamp(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    _tenant_table(
        "members",
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _stamp("last_sign_in_at"),
        _stamp("revoked_at"),
    )
    op.create_index(
        "uq_members_active_email",
        "members",
        ["organization_id", sa.text("lower(email)")],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_members_lower_email", "members", [sa.text("lower(email)")])

    _tenant_table(
        "member_invitations",
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        _token_hash(),
        _stamp("expires_at", nullable=False),
        _stamp("accepted_at"),
        _stamp("revoked_at"),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        member_fk="SET NULL",
    )
    _tenant_table(
        "member_sessions",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        _token_hash(),
        sa.Column("csrf_token_hash", sa.String(64), nullable=False),
        _stamp("expires_at", nullable=False),
        _stamp("revoked_at"),
        member_fk="CASCADE",
    )
    _tenant_table(
        "password_resets",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        _token_hash(),
        _stamp("expires_at", nullable=False),
        _stamp("used_at"),
        member_fk="CASCADE",
    )
    for table in ("member_invitations", "member_sessions", "password_resets"):
        op.create_unique_constraint(op.f(f"uq_{table}_token_hash"), table, ["token_hash"])
    for table in ("member_sessions", "password_resets"):
        op.create_index(op.f(f"ix_{table}_member_id"), table, ["member_id"])

    op.create_table(
        "sign_in_throttles",
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        _stamp("locked_until"),
        *_timestamps(),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_sign_in_throttles")),
    )


def downgrade() -> None:
    for table in (
        "sign_in_throttles",
        "password_resets",
        "member_sessions",
        "member_invitations",
        "members",
    ):
        op.drop_table(table)
