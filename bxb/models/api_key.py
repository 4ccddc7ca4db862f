"""API keys: stored only as a SHA-256 hash plus a short prefix shown to people."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, IdMixin, TimestampMixin
from bxb.models.organization import Organization


class ApiKey(IdMixin, TimestampMixin, Base):
    __tablename__ = "api_keys"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # First characters of the key, enough for a person to tell keys apart; never enough to use.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    # Keys are 256-bit random tokens, so a plain SHA-256 is a safe, indexable digest.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organization: Mapped[Organization] = relationship(lazy="joined")
