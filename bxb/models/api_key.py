"""API keys: stored only as a SHA-256 hash plus a short prefix shown to people."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, IdMixin, TimestampMixin
from bxb.models.organization import Organization


class ApiKey(IdMixin, TimestampMixin, Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'billing_admin', 'support', 'finance_viewer')",
            name="ck_api_keys_role",
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    # One of bxb.governance.actor.Role.
    role: Mapped[str] = mapped_column(String(32))
    # First characters of the key, enough for a person to tell keys apart; never enough to use.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    # Keys are 256-bit random tokens, so a plain SHA-256 is a safe, indexable digest.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Written at most once a minute per key and process (bxb.governance.key_usage).
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The key this one replaced by rotation.
    rotated_from_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )

    organization: Mapped[Organization] = relationship(lazy="joined")
