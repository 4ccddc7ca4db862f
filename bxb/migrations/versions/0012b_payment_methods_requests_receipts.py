"""payment methods, payment requests and payment receipts

Revision ID: 0012b
Revises: 0012c
Create Date: 2026-12-06 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012b"
down_revision: str | None = "0012c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_columns(table: str) -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
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


def _tenant_constraints(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f(f"fk_{table}_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "payment_methods",
        *_tenant_columns("payment_methods"),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_method_id", sa.String(length=255), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_payment_methods_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "customer_id",
            "provider_method_id",
            name=op.f("uq_payment_methods_customer_id_provider_method_id"),
        ),
        *_tenant_constraints("payment_methods"),
    )
    op.create_index(
        op.f("ix_payment_methods_organization_id"), "payment_methods", ["organization_id"]
    )
    op.create_index(op.f("ix_payment_methods_customer_id"), "payment_methods", ["customer_id"])

    op.create_table(
        "payment_requests",
        *_tenant_columns("payment_requests"),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_status", sa.String(length=16), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=True),
        sa.Column("failure_code", sa.String(length=255), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_payment_requests_customer_id_customers"),
        ),
        *_tenant_constraints("payment_requests"),
    )
    op.create_index(
        op.f("ix_payment_requests_organization_id"), "payment_requests", ["organization_id"]
    )
    op.create_index(op.f("ix_payment_requests_customer_id"), "payment_requests", ["customer_id"])

    op.create_table(
        "payment_request_invoices",
        sa.Column("payment_request_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_request_id"],
            ["payment_requests.id"],
            name=op.f("fk_payment_request_invoices_payment_request_id_payment_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_payment_request_invoices_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "payment_request_id", "invoice_id", name=op.f("pk_payment_request_invoices")
        ),
    )

    op.add_column("payments", sa.Column("payment_request_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_payments_payment_request_id_payment_requests"),
        "payments",
        "payment_requests",
        ["payment_request_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_payments_payment_request_id"), "payments", ["payment_request_id"])

    op.create_table(
        "payment_receipts",
        *_tenant_columns("payment_receipts"),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("sequential_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payment_receipts_payment_id_payments"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("payment_id", name=op.f("uq_payment_receipts_payment_id")),
        sa.UniqueConstraint(
            "organization_id",
            "sequential_id",
            name=op.f("uq_payment_receipts_organization_id_sequential_id"),
        ),
        *_tenant_constraints("payment_receipts"),
    )
    op.create_index(
        op.f("ix_payment_receipts_organization_id"), "payment_receipts", ["organization_id"]
    )


def downgrade() -> None:
    op.drop_table("payment_receipts")
    op.drop_index(op.f("ix_payments_payment_request_id"), table_name="payments")
    op.drop_constraint(
        op.f("fk_payments_payment_request_id_payment_requests"), "payments", type_="foreignkey"
    )
    op.drop_column("payments", "payment_request_id")
    op.drop_table("payment_request_invoices")
    op.drop_table("payment_requests")
    op.drop_table("payment_methods")
