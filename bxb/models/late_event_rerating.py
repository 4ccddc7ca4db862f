"""Re-ratings of finalized invoices after late events (issue 10).

An event whose timestamp falls in a period whose invoice is already finalized changes
what that period's usage amounts to. The invoice itself never changes: each re-rating is
one row here, unique on (invoice, sequence), recording what the usage fees amount to now
and the credit note (billed too much) and/or corrective invoice (billed too little) that
settle the difference with what was billed before.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class LateEventRerating(TenantMixin, Base):
    __tablename__ = "late_event_reratings"
    __table_args__ = (UniqueConstraint("invoice_id", "sequence"),)

    # The finalized invoice whose period was re-rated (never changed itself).
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"))
    # 1 for the invoice's first re-rating, then 2, ...
    sequence: Mapped[int]
    external_subscription_id: Mapped[str] = mapped_column(String(255))
    # What each usage fee amounts to after this re-rating: {fee key: amount_cents}.
    amounts: Mapped[dict[str, int]] = mapped_column(JSONB)
    # Events counted per usage window and metric code: {"<window>:<code>": count}.
    events_counts: Mapped[dict[str, Any]] = mapped_column(JSONB)
    credit_note_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("credit_notes.id"))
    corrective_invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    # The subscription's "now" (its test clock's time) when it was re-rated.
    rerated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
