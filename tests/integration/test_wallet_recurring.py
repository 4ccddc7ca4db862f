"""Recurring top-up rules: threshold (after a consumption) and interval (on the
anniversary), each served once, and the Temporal workflow that runs them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.ledger.wallet_recurring import run_recurring_top_ups
from bxb.models import WalletTransaction
from bxb.workflows.wallet_top_ups import WalletTopUpsWorkflow
from tests.integration.test_wallet_transactions import apply_credits, insert_invoice
from tests.integration.test_wallets import (
    attach_clock,
    create_customer,
    create_wallet,
    get_wallet,
    set_clock,
)
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors


async def recurring(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, str]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(WalletTransaction)
            .where(WalletTransaction.source != "manual")
            .order_by(WalletTransaction.created_at)
        )
        return [
            (r.source, r.transaction_status, format(r.credit_amount.normalize(), "f")) for r in rows
        ]


async def test_threshold_rule_tops_up_once_per_crossing(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    rule = {
        "trigger": "threshold",
        "threshold_credits": "5",
        "granted_credits": "20",
        "transaction_name": "Auto top-up",
    }
    wallet = await create_wallet(
        client, tenant_a, granted_credits="10", recurring_transaction_rules=[rule]
    )
    (stored,) = wallet["recurring_transaction_rules"]
    assert (stored["trigger"], stored["threshold_credits"], stored["granted_credits"]) == (
        "threshold",
        "5",
        "20",
    )
    assert lago_errors("WalletRecurringTransactionRule", stored) == []
    assert await run_recurring_top_ups(sessions) == []  # 10 > 5: nothing due
    invoice = await insert_invoice(sessions, tenant_a, 600)
    assert await apply_credits(sessions, invoice) == (600, 600, 0)
    assert len(await run_recurring_top_ups(sessions)) == 1
    assert await run_recurring_top_ups(sessions) == []  # the same crossing: once
    assert await recurring(sessions) == [("threshold", "granted", "20")]
    current = await get_wallet(client, tenant_a, wallet["lago_id"])
    assert (current["credits_balance"], current["balance_cents"]) == ("24", 2400)
    # A new crossing tops up again.
    second = await insert_invoice(sessions, tenant_a, 2000)
    assert await apply_credits(sessions, second) == (2000, 2000, 0)
    assert len(await run_recurring_top_ups(sessions)) == 1
    assert (await get_wallet(client, tenant_a, wallet["lago_id"]))["credits_balance"] == "24"


async def test_interval_rule_tops_up_on_each_anniversary_once(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clock = await attach_clock(sessions, tenant_a, datetime(2030, 1, 31, 9, tzinfo=UTC))
    await create_customer(client, tenant_a, test_clock_id=str(clock))
    rule = {"trigger": "interval", "interval": "monthly", "granted_credits": "5"}
    wallet = await create_wallet(client, tenant_a, recurring_transaction_rules=[rule])
    assert await run_recurring_top_ups(sessions) == []  # not on the creation day
    await set_clock(sessions, clock, datetime(2030, 2, 28, 9, tzinfo=UTC))  # clamped day
    assert len(await run_recurring_top_ups(sessions)) == 1
    assert await run_recurring_top_ups(sessions) == []
    await set_clock(sessions, clock, datetime(2030, 4, 2, tzinfo=UTC))  # March's was missed
    assert len(await run_recurring_top_ups(sessions)) == 1
    assert await recurring(sessions) == [("interval", "granted", "5")] * 2
    assert (await get_wallet(client, tenant_a, wallet["lago_id"]))["credits_balance"] == "10"
    # Updating the rules: a new list replaces it; an empty one ends it.
    response = await client.put(
        f"/api/v1/wallets/{wallet['lago_id']}",
        json={"wallet": {"recurring_transaction_rules": []}},
        headers=tenant_a.headers,
    )
    assert response.json()["wallet"]["recurring_transaction_rules"] == []
    await set_clock(sessions, clock, datetime(2030, 5, 1, tzinfo=UTC))
    assert await run_recurring_top_ups(sessions) == []


async def test_the_workflow_runs_the_rules(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    temporal_env: WorkflowEnvironment,
    worker: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create_customer(client, tenant_a)
    rule = {"trigger": "threshold", "threshold_credits": "1", "granted_credits": "3"}
    await create_wallet(client, tenant_a, recurring_transaction_rules=[rule])
    served = await temporal_env.client.execute_workflow(
        WalletTopUpsWorkflow.run, id=f"wallet-top-ups-test-{uuid.uuid4()}", task_queue=worker
    )
    assert served == 1
    assert await recurring(sessions) == [("threshold", "granted", "3")]


async def test_a_void_crossing_the_threshold_tops_up_at_once(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    rule = {
        "trigger": "threshold",
        "threshold_credits": "5",
        "method": "target",
        "target_ongoing_balance": "15",
        "grants_target_top_up": True,
    }
    wallet = await create_wallet(
        client, tenant_a, granted_credits="10", recurring_transaction_rules=[rule]
    )
    response = await client.post(
        "/api/v1/wallet_transactions",
        json={"wallet_transaction": {"wallet_id": wallet["lago_id"], "voided_credits": "7"}},
        headers=tenant_a.headers,
    )
    assert response.status_code == 200, response.text
    assert [t["transaction_status"] for t in response.json()["wallet_transactions"]] == ["voided"]
    assert await recurring(sessions) == [("threshold", "granted", "12")]  # 3 -> 15
    assert (await get_wallet(client, tenant_a, wallet["lago_id"]))["credits_balance"] == "15"
    assert await run_recurring_top_ups(sessions) == []
