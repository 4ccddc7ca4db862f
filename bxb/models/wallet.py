"""Wallets of prepaid credits and their transactions (Lago's wallets).

A customer has at most one active wallet. Its balances change only together with a
settled transaction, under the wallet's row lock, so the transactions explain every
credit and cent of the balance.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Numeric, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class Wallet(TenantMixin, Base):
    __tablename__ = "wallets"
    __table_args__ = (
        Index(
            "uq_wallets_active_customer",
            "customer_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
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


class WalletTransaction(TenantMixin, Base):
    __tablename__ = "wallet_transactions"
    __table_args__ = (
        # One purchase per top-up invoice, one consumption per invoice: never twice.
        Index(
            "uq_wallet_transactions_invoice_status",
            "invoice_id",
            "transaction_status",
            unique=True,
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
