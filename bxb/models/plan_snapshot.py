"""Plan snapshots pinned by subscriptions, stored once, keyed by their content.

A subscription bills the plan as it was when it started or changed plan (its snapshot,
carried in the workflow's state). Activities used to receive the whole snapshot in every
step's input; now they receive its key, and read the snapshot here. The key is derived
from the organization and the snapshot's content (`bxb.ledger.plan_snapshots.key_of`), so
the same plan version is stored once whoever pins it, and a row never changes.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class PlanSnapshotRecord(TenantMixin, Base):
    __tablename__ = "plan_snapshots"

    plan_id: Mapped[uuid.UUID]
    # bxb.workflows.state.PlanSnapshot, as JSON (snapshot_id left out).
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
