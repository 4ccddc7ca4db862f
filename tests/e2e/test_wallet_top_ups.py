"""A threshold rule served right after the subscription workflow's invoice consumed the
wallet's credits (by the activity that finalized the invoice)."""

from __future__ import annotations

import asyncio
import time

from tests.support.subscriptions import SubscriptionApi


async def test_an_invoice_consuming_credits_tops_up_the_threshold_rule(
    subscription_api: SubscriptionApi,
) -> None:
    api = subscription_api
    await api.customer_on_clock("2026-03-01T00:00:00Z", currency="USD")
    rule = {"trigger": "threshold", "threshold_credits": "25", "granted_credits": "40"}
    wallet = {
        "external_customer_id": "cus_1",
        "rate_amount": "1",
        "currency": "USD",
        "code": "main",
        "granted_credits": "50",
        "recurring_transaction_rules": [rule],
    }
    created = await api.ok("POST", "/api/v1/wallets", {"wallet": wallet})
    lago_id = created["wallet"]["lago_id"]
    await api.plan(amount_cents=3100, pay_in_advance=True)
    assert (await api.subscribe()).status_code == 200
    deadline = time.monotonic() + 20
    while True:
        listed = await api.ok("GET", f"/api/v1/wallets/{lago_id}/wallet_transactions")
        automatic = [t for t in listed["wallet_transactions"] if t["source"] == "threshold"]
        if automatic or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert [(t["transaction_status"], t["credit_amount"]) for t in automatic] == [("granted", "40")]
    current = await api.ok("GET", f"/api/v1/wallets/{lago_id}")
    assert current["wallet"]["credits_balance"] == "59"  # 50 - 31 + 40
