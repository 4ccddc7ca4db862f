"""Organizations: the tenant every other row belongs to."""

from __future__ import annotations

from sqlalchemy import String, Text, false, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, IdMixin, TimestampMixin


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(255))
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
    document_numbering: Mapped[str] = mapped_column(String(32), default="per_customer")
    document_number_prefix: Mapped[str] = mapped_column(String(32))
    invoice_grace_period: Mapped[int] = mapped_column(default=0)
    invoice_footer: Mapped[str | None] = mapped_column(Text)
    document_locale: Mapped[str] = mapped_column(String(16), default="en")
    finalize_zero_amount_invoice: Mapped[bool] = mapped_column(default=True)
    email_settings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # Dunning campaign: retry a failed payment this many days after the first failure,
    # then keep the invoice past due (keep_past_due) or terminate the subscription.
    dunning_retry_days: Mapped[list[int]] = mapped_column(JSONB, default=lambda: [1, 3, 5, 7])
    dunning_outcome: Mapped[str] = mapped_column(String(16), default="keep_past_due")
    # bxb (Lago has none): an event whose timestamp falls in a period already invoiced
    # re-rates that period (true: a credit note or a corrective invoice settles the
    # difference) or is stored and ignored (false, bxb's behaviour before issue 10).
    late_events_rerating: Mapped[bool] = mapped_column(default=True, server_default=true())
    # API logs keep request and response bodies (secrets redacted) only when this is on.
    api_log_bodies: Mapped[bool] = mapped_column(default=False, server_default=false())
    # bxb: the portal pages' branding (Lago keeps a logo on the billing entity only).
    logo_url: Mapped[str | None] = mapped_column(String(1024))
    brand_color: Mapped[str | None] = mapped_column(String(7))
    # Secret that signs outgoing webhooks (HMAC-SHA256); made on first use.
    hmac_key: Mapped[str | None] = mapped_column(String(64))
