"""Portal secrets: the keys that sign customer-portal tokens when none is configured.

`bxb up` with no configuration still needs one secret that every API process shares, so it
is made on first use and stored here, one current row per organization. Rotating retires
the current row (`retired_at`) and makes a new one; a retired row still verifies tokens
for one token lifetime after its retirement, so no token issued before the rotation breaks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class PortalSecret(TenantMixin, Base):
    __tablename__ = "portal_secrets"
    __table_args__ = (
        Index(
            "uq_portal_secrets_current",
            "organization_id",
            unique=True,
            postgresql_where=text("retired_at IS NULL"),
        ),
    )

    secret: Mapped[str] = mapped_column(String(128))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
