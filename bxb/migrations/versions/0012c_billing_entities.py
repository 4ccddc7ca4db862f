"""billing entities: an organization's legal entities; customers and invoices point at one

Creates billing_entities (one default per organization, made here from each existing
organization's settings, with the organization's id and, as Lago does, its name
parameterized as code), billing_entity_taxes and billing_entity_sequences, and points
every existing customer and invoice at its organization's default entity.

Revision ID: 0012c
Revises: 0011g
Create Date: 2026-12-06 01:30:00.000000
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012c"
down_revision: str | None = "0011g"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[datetime]]:
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
        "billing_entities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("default_currency", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("legal_name", sa.String(length=255), nullable=True),
        sa.Column("legal_number", sa.String(length=255), nullable=True),
        sa.Column("tax_identification_number", sa.String(length=255), nullable=True),
        sa.Column("address_line1", sa.String(length=255), nullable=True),
        sa.Column("address_line2", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=255), nullable=True),
        sa.Column("zipcode", sa.String(length=64), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("net_payment_term", sa.Integer(), nullable=False),
        sa.Column("document_numbering", sa.String(length=32), nullable=False),
        sa.Column("document_number_prefix", sa.String(length=32), nullable=False),
        sa.Column("invoice_grace_period", sa.Integer(), nullable=False),
        sa.Column("invoice_footer", sa.Text(), nullable=True),
        sa.Column("document_locale", sa.String(length=16), nullable=False),
        sa.Column("finalize_zero_amount_invoice", sa.Boolean(), nullable=False),
        sa.Column("email_settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("eu_tax_management", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "subscription_invoice_issuing_date_anchor",
            sa.String(length=32),
            server_default="next_period_start",
            nullable=False,
        ),
        sa.Column(
            "subscription_invoice_issuing_date_adjustment",
            sa.String(length=32),
            server_default="align_with_finalization_date",
            nullable=False,
        ),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_billing_entities_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_entities")),
        sa.UniqueConstraint(
            "organization_id", "code", name=op.f("uq_billing_entities_organization_id_code")
        ),
    )
    op.create_index(
        op.f("ix_billing_entities_organization_id"), "billing_entities", ["organization_id"]
    )
    op.create_index(
        "uq_billing_entities_default",
        "billing_entities",
        ["organization_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "billing_entity_taxes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("billing_entity_id", sa.Uuid(), nullable=False),
        sa.Column("tax_id", sa.Uuid(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_billing_entity_taxes_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["billing_entity_id"],
            ["billing_entities.id"],
            name=op.f("fk_billing_entity_taxes_billing_entity_id_billing_entities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tax_id"],
            ["taxes.id"],
            name=op.f("fk_billing_entity_taxes_tax_id_taxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_entity_taxes")),
        sa.UniqueConstraint(
            "billing_entity_id",
            "tax_id",
            name=op.f("uq_billing_entity_taxes_billing_entity_id_tax_id"),
        ),
    )
    op.create_index(
        op.f("ix_billing_entity_taxes_organization_id"),
        "billing_entity_taxes",
        ["organization_id"],
    )
    op.create_index(
        op.f("ix_billing_entity_taxes_billing_entity_id"),
        "billing_entity_taxes",
        ["billing_entity_id"],
    )
    op.create_table(
        "billing_entity_sequences",
        sa.Column("billing_entity_id", sa.Uuid(), nullable=False),
        sa.Column("last_sequential_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["billing_entity_id"],
            ["billing_entities.id"],
            name=op.f("fk_billing_entity_sequences_billing_entity_id_billing_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("billing_entity_id", name=op.f("pk_billing_entity_sequences")),
    )
    for table in ("customers", "invoices"):
        op.add_column(table, sa.Column("billing_entity_id", sa.Uuid(), nullable=True))
        op.create_index(op.f(f"ix_{table}_billing_entity_id"), table, ["billing_entity_id"])
        op.create_foreign_key(
            op.f(f"fk_{table}_billing_entity_id_billing_entities"),
            table,
            "billing_entities",
            ["billing_entity_id"],
            ["id"],
        )
    # One default entity per organization, from its current settings (Lago's migration:
    # the organization's id, its name parameterized as code).
    op.execute(
        """
        INSERT INTO billing_entities (
            id, organization_id, code, name, is_default, default_currency, timezone, email,
            legal_name, legal_number, tax_identification_number, address_line1,
            address_line2, city, state, zipcode, country, net_payment_term,
            document_numbering, document_number_prefix, invoice_grace_period,
            invoice_footer, document_locale, finalize_zero_amount_invoice, email_settings,
            created_at, updated_at
        )
        SELECT
            id, id,
            coalesce(
                nullif(trim(both '_' from regexp_replace(lower(name), '[^a-z0-9]+', '_', 'g')), ''),
                'default'
            ),
            name, true, default_currency, timezone, email,
            legal_name, legal_number, tax_identification_number, address_line1,
            address_line2, city, state, zipcode, country, net_payment_term,
            CASE WHEN document_numbering = 'per_organization'
                 THEN 'per_billing_entity' ELSE 'per_customer' END,
            document_number_prefix, invoice_grace_period,
            invoice_footer, document_locale, finalize_zero_amount_invoice, email_settings,
            created_at, now()
        FROM organizations
        """
    )
    op.execute(
        "UPDATE customers SET billing_entity_id = e.id FROM billing_entities e "
        "WHERE e.organization_id = customers.organization_id AND e.is_default"
    )
    op.execute(
        "UPDATE invoices SET billing_entity_id = e.id FROM billing_entities e "
        "WHERE e.organization_id = invoices.organization_id AND e.is_default"
    )


def downgrade() -> None:
    for table in ("invoices", "customers"):
        op.drop_constraint(
            op.f(f"fk_{table}_billing_entity_id_billing_entities"), table, type_="foreignkey"
        )
        op.drop_index(op.f(f"ix_{table}_billing_entity_id"), table_name=table)
        op.drop_column(table, "billing_entity_id")
    op.drop_table("billing_entity_sequences")
    op.drop_table("billing_entity_taxes")
    op.drop_index("uq_billing_entities_default", table_name="billing_entities")
    op.drop_index(op.f("ix_billing_entities_organization_id"), table_name="billing_entities")
    op.drop_table("billing_entities")
