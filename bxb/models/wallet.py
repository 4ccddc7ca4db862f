"""Wallets of prepaid credits and their transactions (Lago's wallets).

A customer may have several active wallets, each with a `code` unique among the
customer's active ones and a `priority` (1 first, 50 last) deciding which pays first.
Its balances change only together with a settled transaction, under the wallet's row
lock, so the transactions explain every credit and cent of the balance.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class Wallet(TenantMixin, Base):
    __tablename__ = "wallets"
    __table_args__ = (
        Index(
            "uq_wallets_active_customer_code",
            "customer_id",
            "code",
            unique=True,
            postgresql_where=text("status = 'active' AND code IS NOT NULL"),
        ),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | terminated
    name: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3))
    # Currency units one credit is worth.
    rate_amount: Mapped[Decimal] = mapped_column(Numeric(30, 15))
    credits_balance: Mapped[Decimal] = mapped_column(Numeric(30, 5), default=Decimal(0))
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    consumed_credits: Mapped[Decimal] = mapped_column(Numeric(30, 5), default=Decimal(0))
    consumed_amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    expiration_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_balance_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_consumed_credit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    terminated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # 1 pays first, 50 last (Lago's default); then the oldest wallet first.
    priority: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    # applies_to: the fee types and billable metrics the wallet may pay (empty: all).
    allowed_fee_types: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    billable_metric_codes: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default="[]"
    )
    paid_top_up_min_amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    paid_top_up_max_amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    invoice_requires_successful_payment: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Lago's metadata object: {key: value or null}, or null when there is none.
    metadata_: Mapped[dict[str, str | None] | None] = mapped_column("metadata", JSONB)
    # Records which funding each consumption drew from (wallets created since 0012a).
    traceable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=false())


class WalletTransaction(TenantMixin, Base):
    __tablename__ = "wallet_transactions"
    __table_args__ = (
        # One purchase per top-up invoice, one consumption per invoice: never twice.
        # (several wallets may pay one invoice, each once)
        Index(
            "uq_wallet_transactions_invoice_status",
            "invoice_id",
            "wallet_id",
            "transaction_status",
            unique=True,
        ),
        # A recurring rule tops up once per period or threshold crossing.
        Index(
            "uq_wallet_transactions_trigger_key",
            "wallet_id",
            "trigger_key",
            "transaction_status",
            unique=True,
            postgresql_where=text("trigger_key IS NOT NULL"),
        ),
    )

    wallet_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wallets.id", ondelete="CASCADE"), index=True
    )
    # The top-up invoice of a purchase, or the invoice credits were consumed on.
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    status: Mapped[str] = mapped_column(String(16))  # pending | settled | failed
    # purchased | granted | voided | invoiced
    transaction_status: Mapped[str] = mapped_column(String(16))
    transaction_type: Mapped[str] = mapped_column(String(16))  # inbound | outbound
    source: Mapped[str] = mapped_column(String(16), default="manual")
    credit_amount: Mapped[Decimal] = mapped_column(Numeric(30, 5))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(255))
    # [{"key", "value"}] as Lago's transaction metadata.
    metadata_: Mapped[list[dict[str, Any]]] = mapped_column("metadata", JSONB, default=list)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What is left of an inbound transaction of a traceable wallet (None otherwise).
    remaining_amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    priority: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    invoice_requires_successful_payment: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # "<rule id>:<period or crossing>" for a recurring rule's top-up.
    trigger_key: Mapped[str | None] = mapped_column(String(255))


class WalletTransactionConsumption(TenantMixin, Base):
    """How much of an inbound transaction an outbound one drew (FIFO, as Lago)."""

    __tablename__ = "wallet_transaction_consumptions"
    __table_args__ = (CheckConstraint("consumed_amount_cents > 0", name="positive_amount"),)

    inbound_wallet_transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(
            "wallet_transactions.id",
            ondelete="CASCADE",
            name="fk_wallet_transaction_consumptions_inbound",
        ),
        index=True,
    )
    outbound_wallet_transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(
            "wallet_transactions.id",
            ondelete="CASCADE",
            name="fk_wallet_transaction_consumptions_outbound",
        ),
        index=True,
    )
    consumed_amount_cents: Mapped[int] = mapped_column(BigInteger)


class RecurringTransactionRule(TenantMixin, Base):
    """Lago's recurring top-up: on an interval or when the balance falls to a threshold."""

    __tablename__ = "recurring_transaction_rules"

    wallet_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wallets.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | terminated
    trigger: Mapped[str] = mapped_column(String(16))  # interval | threshold
    method: Mapped[str] = mapped_column(String(16), default="fixed")  # fixed | target
    interval: Mapped[str | None] = mapped_column(String(16))
    threshold_credits: Mapped[Decimal | None] = mapped_column(Numeric(30, 5))
    paid_credits: Mapped[Decimal] = mapped_column(Numeric(30, 5), default=Decimal(0))
    granted_credits: Mapped[Decimal] = mapped_column(Numeric(30, 5), default=Decimal(0))
    target_ongoing_balance: Mapped[Decimal | None] = mapped_column(Numeric(30, 5))
    grants_target_top_up: Mapped[bool | None] = mapped_column(Boolean)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expiration_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    invoice_requires_successful_payment: Mapped[bool] = mapped_column(Boolean, default=False)
    ignore_paid_top_up_limits: Mapped[bool] = mapped_column(Boolean, default=False)
    transaction_metadata: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    transaction_name: Mapped[str | None] = mapped_column(String(255))
