"""POST /events/estimate_fees against a real subscription workflow (test clock): the
window and the pinned plan come from the workflow's state, as its usage reaction's do."""

from __future__ import annotations

import httpx
import pytest

from tests.support.auth import Tenant
from tests.support.billing import Billing
from tests.support.stripe_cards import GOOD_CARD
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

MARCH_5 = 1772668800  # 2026-03-05T00:00:00Z


async def test_estimate_fees_reads_the_live_period(
    stack: httpx.AsyncClient,
    tenant_a: Tenant,
    receiver: WebhookReceiver,
    localstripe_url: str,
) -> None:
    billing = Billing(stack, tenant_a, localstripe_url)
    metric = {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
    created = await billing.ok("POST", "/api/v1/billable_metrics", {"billable_metric": metric})
    ranges = [
        {"from_value": 0, "to_value": 10, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 11, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "0"},
    ]
    plan = {
        "name": "Usage",
        "code": "usage",
        "interval": "monthly",
        "amount_cents": 1000,
        "amount_currency": "USD",
        "charges": [
            {
                "billable_metric_id": created["billable_metric"]["lago_id"],
                "charge_model": "graduated",
                "pay_in_advance": True,
                "invoiceable": False,
                "properties": {"graduated_ranges": ranges},
            }
        ],
    }
    await billing.setup(receiver, GOOD_CARD, plan)
    await billing.advance("2026-03-10T00:00:00Z")
    body = {"event": {"code": "calls", "external_subscription_id": "sub_1"}}
    first = await billing.ok("POST", "/api/v1/events/estimate_fees", body)
    assert [f["amount_cents"] for f in first["fees"]] == [100]  # the first call: $1
    for n in range(10):
        event = {
            "transaction_id": f"t{n}",
            "external_subscription_id": "sub_1",
            "code": "calls",
            "timestamp": MARCH_5 + n,
        }
        await billing.ok("POST", "/api/v1/events", {"event": event})
    eleventh = await billing.ok("POST", "/api/v1/events/estimate_fees", body)
    [fee] = eleventh["fees"]
    assert (fee["lago_id"], fee["amount_cents"], fee["units"]) == (None, 50, "1")
    assert fee["external_subscription_id"] == "sub_1"
