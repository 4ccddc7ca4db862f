"""Idempotency keys: the first answer to a POST, kept 24 h for replays of the same request."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, IdMixin, utcnow


class IdempotencyKey(IdMixin, Base):
    __tablename__ = "idempotency_keys"
    # Claimed by INSERT ... ON CONFLICT DO NOTHING: the constraint decides who runs.
    __table_args__ = (UniqueConstraint("credential_digest", "key"),)

    # SHA-256 of the request's credential (Authorization header, else session cookie):
    # a key is scoped to the credential that sent it.
    credential_digest: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path, query and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Filled once the request is answered (the actor is known then); null while running.
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # Null while the first request runs; set when its answer is kept.
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A running claim older than this was left by a crashed process: the next retry takes it.
    locked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(255))
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
