"""Invoice-derived dashboard figures: revenue by month, by day and by plan.

Revenue is what finalized invoices bill before taxes, after coupons (voided invoices
count for nothing), on the invoice's issuing day, split by what was billed:
recurring (subscription fees, fixed charges, minimum commitments), usage (charge fees,
and pay-in-advance fees on no invoice on the day they were created) and one-off (add-ons
and one-off invoices). Wallet top-ups and unused-days credits are not revenue. Credit
notes are taken off, before taxes, on their own issuing day. Every bucket is present,
zero-filled. Read from the trigger-kept rollups (bxb.models.revenue_rollup).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.analytics.revenue_periods import add_months, cents, days_between, months_between
from bxb.models import Plan, RevenueFeeDaily, RevenueInvoiceDaily

RECURRING = ("subscription", "fixed_charge", "commitment")
USAGE = ("charge", "instant")
ONE_OFF = ("add_on",)
REVENUE_CATEGORIES = RECURRING + USAGE + ONE_OFF


@dataclass(frozen=True)
class RevenuePoint:
    """Revenue of one bucket (a month's first day, or a day)."""

    start: date
    recurring_amount_cents: int
    usage_amount_cents: int
    one_off_amount_cents: int
    credit_notes_amount_cents: int
    invoices_count: int

    @property
    def gross_amount_cents(self) -> int:
        return self.recurring_amount_cents + self.usage_amount_cents + self.one_off_amount_cents

    @property
    def net_amount_cents(self) -> int:
        return self.gross_amount_cents - self.credit_notes_amount_cents


@dataclass(frozen=True)
class PlanRevenue:
    plan_code: str
    plan_name: str | None
    recurring_amount_cents: int
    usage_amount_cents: int

    @property
    def amount_cents(self) -> int:
        return self.recurring_amount_cents + self.usage_amount_cents


def _group(category: str) -> str:
    if category in RECURRING:
        return "recurring"
    if category in USAGE:
        return "usage"
    return "one_off"


async def currencies(session: AsyncSession, organization_id: uuid.UUID) -> list[str]:
    """The currencies the organization has billed in."""
    found = await session.scalars(
        select(RevenueInvoiceDaily.currency)
        .where(RevenueInvoiceDaily.organization_id == organization_id)
        .distinct()
    )
    fees = await session.scalars(
        select(RevenueFeeDaily.currency)
        .where(RevenueFeeDaily.organization_id == organization_id)
        .distinct()
    )
    return sorted(set(found) | set(fees))


async def _series(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str,
    first: date,
    last: date,
    monthly: bool,
) -> dict[date, RevenuePoint]:
    fee_key = (
        func.date_trunc("month", RevenueFeeDaily.day) if monthly else RevenueFeeDaily.day
    ).label("bucket")
    fees = (
        select(fee_key, RevenueFeeDaily.category, func.sum(RevenueFeeDaily.amount_cents))
        .where(
            RevenueFeeDaily.organization_id == organization_id,
            RevenueFeeDaily.currency == currency,
            RevenueFeeDaily.day >= first,
            RevenueFeeDaily.day <= last,
            RevenueFeeDaily.category.in_(REVENUE_CATEGORIES),
        )
        .group_by(fee_key, RevenueFeeDaily.category)
    )
    invoice_key = (
        func.date_trunc("month", RevenueInvoiceDaily.day) if monthly else RevenueInvoiceDaily.day
    ).label("bucket")
    invoices = (
        select(
            invoice_key,
            func.sum(RevenueInvoiceDaily.credit_notes_amount_cents),
            func.sum(RevenueInvoiceDaily.invoices_count),
        )
        .where(
            RevenueInvoiceDaily.organization_id == organization_id,
            RevenueInvoiceDaily.currency == currency,
            RevenueInvoiceDaily.day >= first,
            RevenueInvoiceDaily.day <= last,
        )
        .group_by(invoice_key)
    )
    amounts: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for key, category, amount in (await session.execute(fees)).all():
        amounts[_as_date(key)][_group(category)] += amount
    notes: dict[date, tuple[int, int]] = {}
    for key, credit_notes, count in (await session.execute(invoices)).all():
        notes[_as_date(key)] = (int(credit_notes), int(count))
    buckets = months_between(first, last) if monthly else days_between(first, last)
    return {
        start: RevenuePoint(
            start,
            cents(amounts[start]["recurring"]) if start in amounts else 0,
            cents(amounts[start]["usage"]) if start in amounts else 0,
            cents(amounts[start]["one_off"]) if start in amounts else 0,
            notes.get(start, (0, 0))[0],
            notes.get(start, (0, 0))[1],
        )
        for start in buckets
    }


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value  # date_trunc: a datetime


async def revenue_by_month(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str,
    first_month: date,
    last_month: date,
) -> list[RevenuePoint]:
    """One point per month from first_month to last_month (months' first days)."""
    last_day = add_months(last_month, 1).toordinal() - 1
    series = await _series(
        session, organization_id, currency, first_month, date.fromordinal(last_day), True
    )
    return [series[month] for month in months_between(first_month, last_month)]


async def revenue_by_day(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str,
    first_day: date,
    last_day: date,
) -> list[RevenuePoint]:
    """One point per day from first_day to last_day."""
    series = await _series(session, organization_id, currency, first_day, last_day, False)
    return [series[day] for day in days_between(first_day, last_day)]


async def revenue_by_plan(
    session: AsyncSession,
    organization_id: uuid.UUID,
    currency: str,
    first_day: date,
    last_day: date,
) -> list[PlanRevenue]:
    """Recurring and usage revenue of each plan (by code) over the days, largest first.
    Before credit notes: a note is not split by plan."""
    query = (
        select(
            RevenueFeeDaily.plan_code,
            RevenueFeeDaily.category,
            func.sum(RevenueFeeDaily.amount_cents),
        )
        .where(
            RevenueFeeDaily.organization_id == organization_id,
            RevenueFeeDaily.currency == currency,
            RevenueFeeDaily.day >= first_day,
            RevenueFeeDaily.day <= last_day,
            RevenueFeeDaily.category.in_(RECURRING + USAGE),
            RevenueFeeDaily.plan_code != "",
        )
        .group_by(RevenueFeeDaily.plan_code, RevenueFeeDaily.category)
    )
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for code, category, amount in (await session.execute(query)).all():
        sums[code][_group(category)] += amount
    names = dict(
        (
            await session.execute(
                select(Plan.code, Plan.name).where(
                    Plan.organization_id == organization_id,
                    Plan.code.in_(list(sums)),
                    Plan.parent_id.is_(None),
                )
            )
        ).all()
    )
    plans = [
        PlanRevenue(code, names.get(code), cents(s["recurring"]), cents(s["usage"]))
        for code, s in sums.items()
    ]
    return sorted(plans, key=lambda p: (-p.amount_cents, p.plan_code))
