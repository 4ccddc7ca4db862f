"""Trial conversion per currency and month, from subscription_trials.

A trial counts in the month it started (its cohort): `started`, and `converted` those of
them that became paying (at any time since); the rate is converted / started. The
conversions that happened in the month (whatever the cohort) are `conversions`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.analytics.mrr_months import add_months, months, rate
from bxb.models import SubscriptionTrial


async def trial_conversion(
    session: AsyncSession,
    organization_id: uuid.UUID,
    first: datetime,
    last: datetime,
    currency: str | None = None,
) -> dict[str, list[dict[str, Any]]]:
    end = add_months(last, 1)
    scope = [SubscriptionTrial.organization_id == organization_id]
    if currency is not None:
        scope.append(SubscriptionTrial.currency == currency)
    started_month = func.date_trunc("month", SubscriptionTrial.started_at, "UTC")
    cohorts = await session.execute(
        select(
            SubscriptionTrial.currency,
            started_month,
            func.count(),
            func.count(SubscriptionTrial.converted_at),
        )
        .where(*scope, SubscriptionTrial.started_at >= first, SubscriptionTrial.started_at < end)
        .group_by(SubscriptionTrial.currency, started_month)
    )
    converted_month = func.date_trunc("month", SubscriptionTrial.converted_at, "UTC")
    conversions = await session.execute(
        select(SubscriptionTrial.currency, converted_month, func.count())
        .where(
            *scope,
            SubscriptionTrial.converted_at >= first,
            SubscriptionTrial.converted_at < end,
        )
        .group_by(SubscriptionTrial.currency, converted_month)
    )
    started: dict[tuple[str, datetime], tuple[int, int]] = {}
    for cur, month, count, converted in cohorts.all():
        started[(cur, month)] = (int(count), int(converted))
    converted_in: dict[tuple[str, datetime], int] = {
        (cur, month): int(count) for cur, month, count in conversions.all()
    }
    currencies = {cur for cur, _ in started} | {cur for cur, _ in converted_in}
    if currency is not None:
        currencies.add(currency)
    result: dict[str, list[dict[str, Any]]] = {}
    for cur in sorted(currencies):
        entries = []
        for month in months(first, last):
            count, converted = started.get((cur, month), (0, 0))
            entries.append(
                {
                    "month": month.isoformat().replace("+00:00", "Z"),
                    "started": count,
                    "converted": converted,
                    "conversion_rate": rate(converted, count),
                    "conversions": converted_in.get((cur, month), 0),
                }
            )
        result[cur] = entries
    return result
