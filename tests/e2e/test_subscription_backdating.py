"""A subscription whose subscription_at is in the past (issue 9): Lago's rule, in seconds.

As in Lago (app/services/subscriptions/create_service.rb, handle_past_subscription), a
start on an earlier day than today is active at once from subscription_at, and nothing
before the current period is billed: no start invoice, no past periods. The current period
is billed when it closes, from its start (or from subscription_at, if later): the days of
a plan paid in arrears, the next period of a plan paid in advance. A start earlier today
is an ordinary start (with its invoice in advance).

The test clock stands at 2026-03-15 10:00 UTC; the customer is in UTC; the plan is $31.00
a month (calendar), so a day of March costs $1.00.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bxb.models import Invoice
from tests.support.subscriptions import SubscriptionApi

pytestmark = pytest.mark.slow

PROMPT = 8.0
MARCH_1 = datetime(2026, 3, 1, tzinfo=UTC)
APRIL_1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY_1 = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
async def api(subscription_api: SubscriptionApi) -> SubscriptionApi:
    await subscription_api.customer_on_clock("2026-03-15T10:00:00Z")
    return subscription_api


async def _invoices(sessions: async_sessionmaker[AsyncSession]) -> list[Invoice]:
    async with sessions() as session:
        query = select(Invoice).options(selectinload(Invoice.fees)).order_by(Invoice.sequential_id)
        return list(await session.scalars(query.execution_options(populate_existing=True)))


def _fees(invoice: Invoice) -> list[tuple[int, datetime | None, datetime | None]]:
    return [(f.amount_cents, f.from_datetime, f.to_datetime) for f in invoice.fees]


async def test_a_start_in_1970_bills_no_past_period(
    api: SubscriptionApi, sessions: async_sessionmaker[AsyncSession]
) -> None:
    subscription_at = "1970-01-01T00:00:00Z"
    await api.plan()  # paid in arrears
    created = await api.subscribe(subscription_at=subscription_at)
    assert api.took < PROMPT
    assert created.status_code == 200, created.text
    sub = created.json()["subscription"]
    assert (sub["status"], sub["started_at"]) == ("active", subscription_at)
    assert sub["current_billing_period_started_at"] == "2026-03-01T00:00:00Z"
    assert sub["current_billing_period_ending_at"] == "2026-04-01T00:00:00Z"
    assert await _invoices(sessions) == []
    # March closes: all of March (the subscription was active before it began), once.
    assert (await api.advance("2026-04-01T00:00:00Z")).status_code == 200
    [march] = await _invoices(sessions)
    assert (march.kind, march.period_start, march.period_end) == ("period_end", MARCH_1, APRIL_1)
    assert march.total_amount_cents == 3100
    assert _fees(march) == [(3100, MARCH_1, APRIL_1)]


async def test_a_backdated_start_paid_in_advance_bills_the_next_period(
    api: SubscriptionApi, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await api.plan(pay_in_advance=True)
    created = await api.subscribe(subscription_at="1970-01-01T00:00:00Z")
    assert api.took < PROMPT
    assert created.status_code == 200, created.text
    assert await _invoices(sessions) == []  # March, begun before today, is not billed
    assert (await api.advance("2026-04-01T00:00:00Z")).status_code == 200
    [april] = await _invoices(sessions)
    assert april.total_amount_cents == 3100  # all of April, in advance
    assert _fees(april) == [(3100, APRIL_1, MAY_1)]


@pytest.mark.parametrize("pay_in_advance", [False, True])
async def test_a_start_earlier_this_period_is_billed_at_the_close(
    api: SubscriptionApi, sessions: async_sessionmaker[AsyncSession], pay_in_advance: bool
) -> None:
    await api.plan(pay_in_advance=pay_in_advance)
    created = await api.subscribe(subscription_at="2026-03-10T00:00:00Z")
    assert created.status_code == 200, created.text
    assert created.json()["subscription"]["current_billing_period_started_at"] == (
        "2026-03-10T00:00:00Z"
    )
    assert await _invoices(sessions) == []  # not even the days paid in advance
    assert (await api.advance("2026-04-01T00:00:00Z")).status_code == 200
    [invoice] = await _invoices(sessions)
    if pay_in_advance:
        assert _fees(invoice) == [(3100, APRIL_1, MAY_1)]  # April, in advance
    else:
        march_10 = datetime(2026, 3, 10, tzinfo=UTC)
        assert _fees(invoice) == [(2200, march_10, APRIL_1)]  # 10 to 31 March: 22 days


async def test_a_start_earlier_today_is_an_ordinary_start(
    api: SubscriptionApi, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await api.plan(pay_in_advance=True)
    created = await api.subscribe(subscription_at="2026-03-15T01:00:00Z")
    assert created.status_code == 200, created.text
    [start] = await _invoices(sessions)
    assert start.kind == "start"
    assert start.total_amount_cents == 1700  # 15 to 31 March in advance: 17 days


async def test_a_future_start_the_clock_jumps_past_is_billed_from_its_start(
    subscription_api: SubscriptionApi, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Not a backdated start: it was pending when created. The clock passing its start
    in one jump (or a worker down that day) must not skip its first period."""
    api = subscription_api
    await api.customer_on_clock("2026-03-01T00:00:00Z")
    await api.plan(pay_in_advance=True)
    created = await api.subscribe(subscription_at="2026-03-15T00:00:00Z")
    assert created.json()["subscription"]["status"] == "pending"
    assert (await api.advance("2026-04-02T00:00:00Z")).status_code == 200
    start, april = await _invoices(sessions)
    march_15 = datetime(2026, 3, 15, tzinfo=UTC)
    assert _fees(start) == [(1700, march_15, APRIL_1)]  # 17 of March's 31 days, in advance
    assert _fees(april) == [(3100, APRIL_1, MAY_1)]
    assert (await api.subscription())["started_at"] == "2026-03-15T00:00:00Z"
