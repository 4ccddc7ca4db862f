"""Reading an alert's value and firing `alert.triggered` for what it crossed, once.

Every reading runs under the alert's row lock, in the transaction that writes the
triggered alert, its crossings and the webhook (outbox), so two concurrent readings are
taken one after the other and the second sees the first's `previous_value`. The crossings
table's unique key (alert, crossing key, value) makes the same crossing impossible twice
even so: the crossing key is the billing period for current-usage alerts (each period
starts from zero), and for the others the number of times the value moved back (a wallet
topped up again rearms its low-balance thresholds).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.alerts import CURRENT_USAGE_TYPES, Crossing, Threshold, crossed
from bxb.lago_objects.alerts import crossing_object, triggered_alert_object
from bxb.models import AlertCrossing, BillableMetric, Customer, TriggeredAlert, UsageAlert, Wallet
from bxb.webhooks import outbox

WEBHOOK_TYPE = "alert.triggered"
_PLACES = Decimal("0.00001")
_LARGEST = Decimal(10) ** 25 - 1


@dataclass(frozen=True)
class Reading:
    """What the alert's value is now, and what it belongs to."""

    value: Decimal
    at: datetime
    external_customer_id: str
    period_key: str | None = None  # the billing period (current-usage alerts)
    subscription_id: uuid.UUID | None = None
    wallet_id: uuid.UUID | None = None


def wallet_value(alert_type: str, wallet: Wallet) -> Decimal:
    """A wallet alert's value. bxb's ongoing balance is the balance (usage not yet
    invoiced is not held against it, as the wallet object says), so the ongoing types read
    the same values."""
    if alert_type in ("wallet_credits_balance", "wallet_credits_ongoing_balance"):
        return Decimal(wallet.credits_balance)
    return Decimal(wallet.balance_cents)


async def lock(session: AsyncSession, query: Select[UsageAlert]) -> list[UsageAlert]:
    """The alerts, locked (in id order: no deadlock between two readers), fresh."""
    rows = await session.scalars(
        query.order_by(UsageAlert.id).with_for_update().execution_options(populate_existing=True)
    )
    return list(rows.all())


async def read(session: AsyncSession, alert: UsageAlert, reading: Reading) -> list[uuid.UUID]:
    """Take one reading of a locked alert; returns the webhook ids to dispatch."""
    # Numeric(30, 5): a reading past it (absurd usage) is read as the largest value kept.
    value = max(min(reading.value, _LARGEST), -_LARGEST).quantize(_PLACES)
    previous = Decimal(alert.previous_value)
    if alert.alert_type in CURRENT_USAGE_TYPES:
        key = f"period:{reading.period_key}"
        if alert.reading_key != key:
            previous = Decimal(0)  # a new period starts from zero
    else:
        moved_back = value < previous if alert.direction == "increasing" else value > previous
        if moved_back:
            alert.rearms += 1
        key = f"rearm:{alert.rearms}"
    thresholds = [Threshold(t.value, t.code, t.recurring) for t in alert.thresholds]
    crossings = crossed(thresholds, previous, value, alert.direction)
    ids: list[uuid.UUID] = []
    if crossings:
        ids = await _trigger(session, alert, reading, previous, value, key, crossings)
    alert.previous_value = value
    alert.reading_key = key
    alert.last_processed_at = reading.at
    return ids


async def _trigger(
    session: AsyncSession,
    alert: UsageAlert,
    reading: Reading,
    previous: Decimal,
    value: Decimal,
    key: str,
    crossings: Sequence[Crossing],
) -> list[uuid.UUID]:
    row = TriggeredAlert(
        id=uuid.uuid4(),
        organization_id=alert.organization_id,
        alert_id=alert.id,
        subscription_id=reading.subscription_id,
        wallet_id=reading.wallet_id,
        current_value=value,
        previous_value=previous,
        crossed_thresholds=[],
        triggered_at=reading.at,
    )
    session.add(row)
    await session.flush()
    inserted = await session.scalars(
        insert(AlertCrossing)
        .values(
            [
                {
                    "id": uuid.uuid4(),
                    "organization_id": alert.organization_id,
                    "alert_id": alert.id,
                    "crossing_key": key,
                    "value": crossing.value,
                    "triggered_alert_id": row.id,
                }
                for crossing in crossings
            ]
        )
        .on_conflict_do_nothing()
        .returning(AlertCrossing.value)
    )
    new = set(inserted.all())
    fired = [c for c in crossings if c.value in new]
    if not fired:  # crossed before in this period (or since the last rearm)
        await session.execute(delete(TriggeredAlert).where(TriggeredAlert.id == row.id))
        session.expunge(row)
        return []
    row.crossed_thresholds = [crossing_object(c) for c in fired]
    await session.flush()
    metric_code = None
    if alert.billable_metric_id is not None:
        metric = await session.get(BillableMetric, alert.billable_metric_id)
        metric_code = metric.code if metric is not None else None
    payload = {
        "triggered_alert": triggered_alert_object(
            row,
            alert,
            external_customer_id=reading.external_customer_id,
            billable_metric_code=metric_code,
        )
    }
    return await outbox.emit(session, alert.organization_id, WEBHOOK_TYPE, row.id, payload)


async def check_wallet(session: AsyncSession, wallet: Wallet, at: datetime) -> list[uuid.UUID]:
    """Read the wallet's alerts after a change of its balance (in that transaction)."""
    alerts = await lock(
        session,
        select(UsageAlert).where(
            UsageAlert.organization_id == wallet.organization_id,
            UsageAlert.wallet_id == wallet.id,
            UsageAlert.deleted_at.is_(None),
        ),
    )
    if not alerts:
        return []
    customer = await session.get(Customer, wallet.customer_id)
    assert customer is not None
    ids: list[uuid.UUID] = []
    for alert in alerts:
        reading = Reading(
            value=wallet_value(alert.alert_type, wallet),
            at=at,
            external_customer_id=customer.external_id,
            wallet_id=wallet.id,
        )
        ids += await read(session, alert, reading)
    return ids


async def check_customer_wallet(
    session: AsyncSession, customer_id: uuid.UUID, at: datetime
) -> list[uuid.UUID]:
    """Read the alerts of the customer's active wallets (locked here, if not already) after
    a change of their balances, in the transaction of that change."""
    wallets = await session.scalars(
        select(Wallet)
        .where(Wallet.customer_id == customer_id, Wallet.status == "active")
        .order_by(Wallet.priority, Wallet.created_at, Wallet.id)
        .with_for_update()
    )
    ids: list[uuid.UUID] = []
    for wallet in list(wallets):
        ids += await check_wallet(session, wallet, at)
    return ids
