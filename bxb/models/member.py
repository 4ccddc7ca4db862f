"""Members: the people of an organization, who sign in to the web app with a password.

Secrets (password, invitation, session, reset and CSRF tokens) are never stored as given:
passwords as argon2id hashes, random tokens as SHA-256 digests (256-bit tokens need no
slow hash, and a digest can be looked up by index).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bxb.models.base import Base, TenantMixin, TimestampMixin
from bxb.models.organization import Organization

MEMBER_STATUSES = ("active", "revoked")


class Member(TenantMixin, Base):
    __tablename__ = "members"
    __table_args__ = (
        # One active member per email and organization, whatever its case; a removed
        # member's email can be invited again.
        Index(
            "uq_members_active_email",
            "organization_id",
            func.lower(text("email")),
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_members_lower_email", func.lower(text("email"))),
    )

    email: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")
    password_hash: Mapped[str] = mapped_column(String(255))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organization: Mapped[Organization] = relationship(lazy="joined")


class MemberInvitation(TenantMixin, Base):
    __tablename__ = "member_invitations"

    email: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )


class MemberSession(TenantMixin, Base):
    __tablename__ = "member_sessions"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PasswordReset(TenantMixin, Base):
    __tablename__ = "password_resets"

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInThrottle(TimestampMixin, Base):
    """Consecutive failed sign-ins per email (lower-cased), whether or not a member has it:
    counting unknown emails too is what keeps the lockout from revealing which exist."""

    __tablename__ = "sign_in_throttles"

    email: Mapped[str] = mapped_column(String(255), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
