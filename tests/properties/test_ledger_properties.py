"""Property: random billing histories never break the ledger's invariants.

Hypothesis draws a scenario (organization taxes and grace period, customers with their
timezones and taxes, first subscriptions) and a list of steps: subscriptions, plan changes
(upgrades and downgrades), usage, clock advances of days to months, terminations, pauses
and resumes, coupons, wallet top-ups, manual payments, credit notes (within and one cent
over their limits), invoice and credit-note voids, draft finalizations. Each example runs on a fresh
organization through the real API, worker, Temporal dev server and PostgreSQL, and the
invariants of `invariants.py` are checked after every step.

`make test` runs a small, derandomized budget; `make test-properties` a long random one
(BXB_PROPERTY_EXAMPLES, BXB_PROPERTY_STEPS, BXB_PROPERTY_RANDOM=1).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx
from hypothesis import HealthCheck, Phase, event, example, given, note, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.core.organizations import create_organization
from tests.properties import steps as s
from tests.properties.invariants import Ledger, check_ledger, read_ledger
from tests.properties.world import LedgerWorld, new_tenant_name
from tests.support.auth import Tenant

EXAMPLES = int(os.environ.get("BXB_PROPERTY_EXAMPLES", "15"))
STEPS = int(os.environ.get("BXB_PROPERTY_STEPS", "10"))
RANDOM = os.environ.get("BXB_PROPERTY_RANDOM") == "1"
# Shrinking replays a failing history many times (seconds each); off for a quick hunt.
PHASES = (
    tuple(Phase)
    if os.environ.get("BXB_PROPERTY_SHRINK", "1") == "1"
    else (
        Phase.explicit,
        Phase.reuse,
        Phase.generate,
    )
)


async def _fresh_tenant(sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    """Each example bills in its own organization: nothing of another example is seen."""
    name = new_tenant_name()
    async with transaction(sessions) as session:
        org, issued = await create_organization(session, name)
    return Tenant(org.id, name, issued.plaintext)


async def run_program(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    scenario: s.Scenario,
    program: list[s.Step],
    report: Callable[[str], object] = print,
) -> Ledger:
    """Set the scenario up, run the steps; the invariants hold after each. Returns the
    final ledger."""
    world = LedgerWorld(client, engine, await _fresh_tenant(sessions), scenario, report)
    await world.setup()
    ledger = await read_ledger(engine, world.org)
    check_ledger(ledger, world.taxes)
    for step in program:
        await world.run(step)
        ledger = await read_ledger(engine, world.org)
        check_ledger(ledger, world.taxes)
    return ledger


def _coverage(ledger: Ledger) -> None:
    """What the example reached (`--hypothesis-show-statistics` shows how often)."""
    event(f"invoices: {min(len(ledger.invoices), 10)}{'+' if len(ledger.invoices) >= 10 else ''}")
    reached = {
        "coupon discount": any(i.coupons_amount_cents for i in ledger.invoices),
        "taxes": any(i.taxes_amount_cents for i in ledger.invoices),
        "draft": any(i.status == "draft" for i in ledger.invoices),
        "voided invoice": any(i.status == "voided" for i in ledger.invoices),
        "plan change invoice": any(i.kind == "plan_change" for i in ledger.invoices),
        "termination invoice": any(i.kind == "termination" for i in ledger.invoices),
        "credit note": bool(ledger.notes),
        "refund": any(n.refund_amount_cents for n in ledger.notes),
        "credit note consumed": bool(ledger.applications),
        "unused days credited": any(n.reason == "order_change" for n in ledger.notes),
        "partly paid": any(
            0 < i.total_paid_amount_cents < i.total_amount_cents for i in ledger.invoices
        ),
        "paid": any(
            i.payment_status == "succeeded" and i.total_paid_amount_cents for i in ledger.invoices
        ),
        "wallet consumed": any(i.prepaid_credit_amount_cents for i in ledger.invoices),
        "paused": bool(ledger.pauses),
        "resume invoice": any(i.kind == "resume" for i in ledger.invoices),
    }
    for name, seen in reached.items():
        if seen:
            event(name)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    print_blob=True,
    phases=PHASES,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(scenario=s.scenarios, program=st.lists(s.steps, min_size=STEPS // 2, max_size=STEPS))
# Histories every run replays: one that reaches coupons, upgrades, refunds, wallets and
# consumed credit notes; one with a grace period (drafts finalized out of order, a credit
# line probed for credit, a paid top-up); and the shrunk histories of defects it found.
@example(
    scenario=s.Scenario(
        start="2026-01-17T09:30:00Z",
        grace_period_days=0,
        organization_tax=True,
        customers=(s.Customer(None, False), s.Customer("Asia/Tokyo", True)),
        subscriptions=((0, 1, False), (1, 0, True)),
    ),
    program=[
        s.ApplyCoupon(1, 3),
        s.ApplyCoupon(0, 0),
        s.Usage(0, 120),
        s.Usage(1, 2400),
        s.Pay(0, 100),
        s.TopUp(0, 30, 25),
        s.Advance(16, 13),
        s.ChangePlan(0, 3),
        s.IssueCreditNote(0, 50, 100, None),
        s.IssueCreditNote(0, 100, 0, "refund"),
        s.Pay(0, 50),
        s.Usage(1, 70),
        s.Advance(31, 0),
        s.VoidInvoice(4, True),
        s.Terminate(1),
        s.Advance(45, 0),
        s.IssueCreditNote(3, 100, 100, "fee"),
    ],
)
@example(
    scenario=s.Scenario(
        start="2026-02-28T23:00:00Z",
        grace_period_days=3,
        organization_tax=False,
        customers=(s.Customer("America/Los_Angeles", True),),
        subscriptions=((0, 1, False), (0, 2, True)),
    ),
    program=[
        s.Usage(1, 300),
        s.Advance(1, 0),
        s.ChangePlan(0, 3),
        s.FinalizeDraft(2),
        s.IssueCreditNote(0, 100, 0, "fee"),
        s.FinalizeDraft(0),
        s.Pay(0, 100),
        s.TopUp(0, 0, 25),
        s.Pay(1, 100),
        s.Advance(31, 0),
        s.ChangePlan(1, 4),
        s.Advance(45, 0),
        s.Terminate(0),
        s.VoidCreditNote(0),
        s.Advance(9, 13),
    ],
)
@example(  # an unpaid invoice credited in full, then voided (test_invoice_voids.py)
    scenario=s.Scenario(
        start="2026-02-28T23:00:00Z",
        grace_period_days=0,
        organization_tax=False,
        customers=(s.Customer("America/Los_Angeles", True),),
        subscriptions=((0, 4, True),),
    ),
    program=[
        s.Advance(31, 13),
        s.Terminate(0),
        s.IssueCreditNote(0, 100, 50, None),
        s.VoidInvoice(0, True),
    ],
)
@example(  # unused days credited twice with a grace period (test_unused_days_credit.py)
    scenario=s.Scenario(
        start="2026-01-01T00:00:00Z",
        grace_period_days=3,
        organization_tax=False,
        customers=(s.Customer("America/Los_Angeles", True),),
        subscriptions=((0, 1, False),),
    ),
    program=[
        s.Usage(0, 500),
        s.Advance(1, 0),
        s.ChangePlan(0, 3),
        s.FinalizeDraft(0),
        s.FinalizeDraft(0),
        s.IssueCreditNote(1, 100, 0, None),
        s.FinalizeDraft(0),
    ],
)
@example(  # pauses (issue 10): at period end and now, in advance and in arrears, resumed
    # by request and by timer, credited at a close and at a termination while paused
    scenario=s.Scenario(
        start="2026-01-17T09:30:00Z",
        grace_period_days=0,
        organization_tax=True,
        customers=(s.Customer(None, False), s.Customer("Asia/Tokyo", True)),
        subscriptions=((0, 1, False), (1, 0, True)),
    ),
    program=[
        s.Pause(0, None, True),
        s.Usage(0, 120),
        s.Advance(16, 0),
        s.Usage(0, 300),
        s.Advance(9, 0),
        s.Resume(0),
        s.Pause(0, 10, False),
        s.Advance(31, 13),
        s.ChangePlan(1, 3),
        s.Pause(1, 40, False),
        s.Usage(1, 70),
        s.Advance(9, 0),
        s.Terminate(1),
        s.Advance(31, 0),
    ],
)
async def test_random_billing_histories_keep_the_ledger_invariants(
    temporal_client: httpx.AsyncClient,
    worker: str,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    scenario: s.Scenario,
    program: list[s.Step],
) -> None:
    _coverage(await run_program(temporal_client, engine, sessions, scenario, program, note))
