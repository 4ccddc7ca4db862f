"""Customers: who is billed, in which currency and timezone, through which provider."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, false, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, SoftDeleteMixin, TenantMixin
from bxb.models.billing_entity import BillingEntity
from bxb.models.dunning_campaign import DunningCampaign
from bxb.models.search_index import search_indexes


class Customer(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        *search_indexes("customers"),
        Index(
            "uq_customers_live_external_id",
            "organization_id",
            "external_id",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # The next sequential_id is max()+1 per organization: one index probe, not a scan.
        Index("ix_customers_organization_id_sequential_id", "organization_id", "sequential_id"),
        # The list's order (created_at DESC, id DESC, read backwards): a page is a few index
        # entries, not a sort of every live customer of the organization.
        Index(
            "ix_customers_live_created_at",
            "organization_id",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    external_id: Mapped[str] = mapped_column(String(255))
    # Lago's per-organization customer number.
    sequential_id: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(255))
    firstname: Mapped[str | None] = mapped_column(String(255))
    lastname: Mapped[str | None] = mapped_column(String(255))
    customer_type: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(255))
    legal_name: Mapped[str | None] = mapped_column(String(255))
    legal_number: Mapped[str | None] = mapped_column(String(255))
    tax_identification_number: Mapped[str | None] = mapped_column(String(255))
    address_line1: Mapped[str | None] = mapped_column(String(255))
    address_line2: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str | None] = mapped_column(String(255))
    zipcode: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    # None until set or until the first subscription fixes it (Lago's rule).
    currency: Mapped[str | None] = mapped_column(String(3))
    # None means "the organization's timezone".
    timezone: Mapped[str | None] = mapped_column(String(64))
    net_payment_term: Mapped[int | None]
    # billing_configuration
    invoice_grace_period: Mapped[int | None]
    payment_provider: Mapped[str | None] = mapped_column(String(32))
    payment_provider_code: Mapped[str | None] = mapped_column(String(255))
    provider_customer_id: Mapped[str | None] = mapped_column(String(255))
    # Create the customer at the provider when provider_customer_id is empty (Lago's flag).
    sync_with_provider: Mapped[bool] = mapped_column(default=False, server_default=false())
    document_locale: Mapped[str | None] = mapped_column(String(16))
    # [{"key": ..., "value": ..., "display_in_invoice": bool, "lago_id": ...}]
    metadata_: Mapped[list[dict[str, Any]]] = mapped_column("metadata", JSONB, default=list)
    # A test clock (bxb extension, as in Stripe): "now" for this customer's subscriptions.
    test_clock_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # The legal entity that bills this customer (Lago's billing_entity); set to the
    # organization's default entity when created without one (bxb.ledger.billing_entities).
    billing_entity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("billing_entities.id"), index=True
    )
    # Joined, not selectin: one query with the customer's, where selectin set up a second
    # load per query (about 0.15 ms of CPU each, a round trip when set). A customer locked
    # FOR UPDATE is locked `of=Customer`: PostgreSQL refuses to lock an outer join's side.
    billing_entity: Mapped[BillingEntity | None] = relationship(lazy="joined")
    # Dunning (bxb/ledger/dunning_campaigns.py): the campaign chasing this customer's
    # overdue balance instead of the organization's default, or none at all when excluded;
    # attempts made so far per currency, and when the last one was made.
    applied_dunning_campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dunning_campaigns.id", ondelete="SET NULL")
    )
    exclude_from_dunning_campaign: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
    dunning_currency_attempts: Mapped[dict[str, int]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    last_dunning_campaign_attempt: Mapped[int] = mapped_column(default=0, server_default="0")
    last_dunning_campaign_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    # Loaded with the customer (its code is part of the customer object), as billing_entity.
    applied_dunning_campaign: Mapped[DunningCampaign | None] = relationship(lazy="joined")
