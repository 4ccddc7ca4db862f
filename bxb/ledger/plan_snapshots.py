"""Plan snapshots stored once in PostgreSQL, so that workflow histories carry their keys.

The API pins a snapshot (`pin`) before handing it to a subscription's workflow; the
workflow keeps the whole snapshot in its state (it bills the plan as it was), but the
inputs of its activities carry only `PlanSnapshot.reference()` — the key and the plan's
header — and each activity reads the snapshot back (`hydrate`) before doing its work.
Snapshots pinned before issue 13 have no key: their activities receive them whole, as
before, and `hydrate` leaves them alone.
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import PlanSnapshotRecord
from bxb.usage_reactions.context import UsageContext
from bxb.workflows.billing_requests import BillingRequest, FixedFeeWindow
from bxb.workflows.state import PlanSnapshot

_NAMESPACE = uuid.UUID("6f1c7f0e-5b7a-4d7e-9a55-3f4f2b8e1d13")


def key_of(organization_id: uuid.UUID, snapshot: PlanSnapshot) -> uuid.UUID:
    """The same content in the same organization gives the same key."""
    body = snapshot.model_dump_json(exclude={"snapshot_id"})
    digest = hashlib.sha256(body.encode()).hexdigest()
    return uuid.uuid5(_NAMESPACE, f"{organization_id}:{digest}")


async def pin(
    session: AsyncSession, organization_id: uuid.UUID, snapshot: PlanSnapshot
) -> PlanSnapshot:
    """Store the snapshot (once) and commit; the snapshot with its key."""
    key = key_of(organization_id, snapshot)
    body = snapshot.model_dump(mode="json", exclude={"snapshot_id"})
    statement = insert(PlanSnapshotRecord).values(
        id=key, organization_id=organization_id, plan_id=snapshot.id, body=body
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["id"]))
    await session.commit()
    return snapshot.model_copy(update={"snapshot_id": key})


class PlanSnapshots:
    """Reads stored snapshots for activities (a row never changes: cached by key)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._cache: dict[uuid.UUID, PlanSnapshot] = {}

    async def get(self, organization_id: uuid.UUID, reference: PlanSnapshot) -> PlanSnapshot:
        if reference.snapshot_id is None:
            return reference  # pinned before issue 13: carried whole
        return await self.by_key(organization_id, reference.snapshot_id)

    async def by_key(self, organization_id: uuid.UUID, key: uuid.UUID) -> PlanSnapshot:
        found = self._cache.get(key)
        if found is None:
            async with self.sessions() as session:
                body = await session.scalar(
                    select(PlanSnapshotRecord.body).where(
                        PlanSnapshotRecord.id == key,
                        PlanSnapshotRecord.organization_id == organization_id,
                    )
                )
            if body is None:
                raise ValueError(f"plan snapshot {key} is not stored")
            found = PlanSnapshot.model_validate({**body, "snapshot_id": key})
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = found
        return found

    async def hydrate(self, request: BillingRequest) -> BillingRequest:
        """The request with every plan reference replaced by its stored snapshot."""
        plans = [b.plan for b in request.base_fees] + [w.plan for w in request.usage]
        by_key = [w for w in request.fixed_fees if w.charge_ids and not w.charges]
        if not any(plan.snapshot_id for plan in plans) and not by_key:
            return request
        org = request.organization_id
        return request.model_copy(
            update={
                "base_fees": [
                    b.model_copy(update={"plan": await self.get(org, b.plan)})
                    for b in request.base_fees
                ],
                "usage": [
                    w.model_copy(update={"plan": await self.get(org, w.plan)})
                    for w in request.usage
                ],
                "fixed_fees": [await self._fixed(org, w) for w in request.fixed_fees],
            }
        )

    async def _fixed(self, organization_id: uuid.UUID, window: FixedFeeWindow) -> FixedFeeWindow:
        """The window with its fixed charges read from the stored snapshot."""
        if window.plan_snapshot_id is None or window.charges or not window.charge_ids:
            return window
        plan = await self.by_key(organization_id, window.plan_snapshot_id)
        found = {c.id: c for c in plan.fixed_charges}
        missing = [i for i in window.charge_ids if i not in found]
        if missing:
            raise ValueError(f"fixed charges {missing} are not in plan snapshot {plan.snapshot_id}")
        return window.model_copy(update={"charges": [found[i] for i in window.charge_ids]})

    async def hydrate_context(self, context: UsageContext) -> UsageContext:
        if context.plan.snapshot_id is None:
            return context
        plan = await self.get(context.organization_id, context.plan)
        return context.model_copy(update={"plan": plan})
