"""Features and their privileges: what a plan or a subscription can be entitled to (Lago's
entitlement_features and entitlement_privileges).

A feature (e.g. `seats`) has privileges (e.g. `max`, an integer; `sso`, a select among
options). Both are soft-deleted, as Lago does, which frees their codes.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, SoftDeleteMixin, TenantMixin


class Feature(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "features"
    __table_args__ = (
        Index(
            "uq_features_live_code",
            "organization_id",
            "code",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)  # Lago: at most 600 characters


class Privilege(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "privileges"
    __table_args__ = (
        Index(
            "uq_privileges_live_code",
            "feature_id",
            "code",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    feature_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("features.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    value_type: Mapped[str] = mapped_column(String(16))  # integer | boolean | string | select
    # {"select_options": [...]} for a select, {} otherwise.
    config: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
