"""Billing entities: an organization's legal entities (Lago's BillingEntity).

Each has its own name, legal identity, address, invoice settings, taxes and invoice
numbering; every customer belongs to one, and every invoice records the one it was issued
by. Every organization has a default entity (`is_default`): customers created without a
`billing_entity_code` belong to it. Codes are unique per organization and never change.

The default entity's taxes are the organization's default taxes (`Tax.applied_to_organization`,
which Lago documents as "applies the tax to the organization's default billing entity");
another entity's taxes are its `BillingEntityTax` rows. The default entity numbers its
invoices with the organization's sequence (`InvoiceSequence`), as before entities existed;
any other entity with its own `BillingEntitySequence`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, IdMixin, TenantMixin, TimestampMixin

ISSUING_DATE_ANCHORS = ("current_period_end", "next_period_start")
ISSUING_DATE_ADJUSTMENTS = ("align_with_finalization_date", "keep_anchor")


class BillingEntity(TenantMixin, Base):
    __tablename__ = "billing_entities"
    __table_args__ = (
        UniqueConstraint("organization_id", "code"),
        # One default entity per organization.
        Index(
            "uq_billing_entities_default",
            "organization_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    is_default: Mapped[bool] = mapped_column(default=False, server_default=false())
    default_currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    email: Mapped[str | None] = mapped_column(String(255))
    legal_name: Mapped[str | None] = mapped_column(String(255))
    legal_number: Mapped[str | None] = mapped_column(String(255))
    tax_identification_number: Mapped[str | None] = mapped_column(String(255))
    address_line1: Mapped[str | None] = mapped_column(String(255))
    address_line2: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str | None] = mapped_column(String(255))
    zipcode: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    net_payment_term: Mapped[int] = mapped_column(default=0)
    # per_customer | per_billing_entity (stored and shown; see docs/billing_entities.md)
    document_numbering: Mapped[str] = mapped_column(String(32), default="per_customer")
    document_number_prefix: Mapped[str] = mapped_column(String(32))
    invoice_grace_period: Mapped[int] = mapped_column(default=0)
    invoice_footer: Mapped[str | None] = mapped_column(Text)
    document_locale: Mapped[str] = mapped_column(String(16), default="en")
    finalize_zero_amount_invoice: Mapped[bool] = mapped_column(default=True)
    email_settings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    eu_tax_management: Mapped[bool] = mapped_column(default=False, server_default=false())
    subscription_invoice_issuing_date_anchor: Mapped[str] = mapped_column(
        String(32), default="next_period_start", server_default="next_period_start"
    )
    subscription_invoice_issuing_date_adjustment: Mapped[str] = mapped_column(
        String(32),
        default="align_with_finalization_date",
        server_default="align_with_finalization_date",
    )


class BillingEntityTax(IdMixin, TimestampMixin, Base):
    """A tax applied to the invoices of a (non-default) billing entity's customers."""

    __tablename__ = "billing_entity_taxes"
    __table_args__ = (UniqueConstraint("billing_entity_id", "tax_id"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    billing_entity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("billing_entities.id", ondelete="CASCADE"), index=True
    )
    tax_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("taxes.id", ondelete="CASCADE"))


class BillingEntitySequence(Base):
    """The last invoice number a (non-default) billing entity gave; see InvoiceSequence."""

    __tablename__ = "billing_entity_sequences"

    billing_entity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("billing_entities.id", ondelete="CASCADE"), primary_key=True
    )
    last_sequential_id: Mapped[int] = mapped_column(default=0)
