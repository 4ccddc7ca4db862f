"""Several wallets per customer: Lago's order (priority, then creation), applies_to,
consumptions and fundings, the /customers/{id}/wallets routes, metadata, top-up limits
and a purchase's payment URL."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.core.db import transaction
from bxb.models import Charge, Customer, Fee, Invoice, Wallet, WalletTransactionConsumption
from tests.integration.test_wallet_transactions import (
    apply_credits,
    list_transactions,
    post_transaction,
)
from tests.integration.test_wallets import create_customer, create_wallet, get_wallet
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors

CUSTOMER_WALLETS = "/api/v1/customers/cus_1/wallets"


async def invoice_with_fees(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    fees: list[tuple[str, int, uuid.UUID | None]],
) -> uuid.UUID:
    """A finalized invoice with (fee_type, cents, charge_id) fees, no coupons nor taxes."""
    total = sum(cents for _, cents, _ in fees)
    async with transaction(sessions) as session:
        customer = await session.scalar(
            select(Customer).where(Customer.organization_id == tenant.organization_id)
        )
        assert customer is not None
        invoice = Invoice(
            organization_id=tenant.organization_id,
            customer_id=customer.id,
            invoice_type="subscription",
            kind="period_end",
            status="finalized",
            payment_status="pending",
            currency="USD",
            issuing_date=date(2030, 5, 1),
            fees_amount_cents=total,
            total_amount_cents=total,
        )
        session.add(invoice)
        await session.flush()
        for position, (fee_type, cents, charge_id) in enumerate(fees):
            session.add(
                Fee(
                    organization_id=tenant.organization_id,
                    invoice_id=invoice.id,
                    charge_id=charge_id,
                    fee_type=fee_type,
                    position=position,
                    description=fee_type,
                    item_code=fee_type,
                    amount_cents=cents,
                    precise_amount_cents=cents,
                    amount_currency="USD",
                )
            )
        return invoice.id


async def metric_charge(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> uuid.UUID:
    """A charge of billable metric `api_calls` (on a plan), for charge fees."""
    metric = {"name": "API calls", "code": "api_calls", "aggregation_type": "count_agg"}
    response = await client.post(
        "/api/v1/billable_metrics", json={"billable_metric": metric}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    metric_id = response.json()["billable_metric"]["lago_id"]
    plan = {
        "name": "Usage",
        "code": "usage",
        "interval": "monthly",
        "amount_cents": 0,
        "amount_currency": "USD",
        "charges": [
            {
                "billable_metric_id": metric_id,
                "charge_model": "standard",
                "properties": {"amount": "1"},
            }
        ],
    }
    response = await client.post("/api/v1/plans", json={"plan": plan}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    async with sessions() as session:
        charge_id = await session.scalar(
            select(Charge.id).where(Charge.billable_metric_id == uuid.UUID(metric_id))
        )
    assert charge_id is not None
    return charge_id


async def test_wallets_pay_in_priority_order_within_their_limits(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    charge_id = await metric_charge(client, tenant_a, sessions)
    # Created first but lowest priority: pays last.
    general = await create_wallet(client, tenant_a, code="general", granted_credits="100")
    usage = await create_wallet(
        client,
        tenant_a,
        code="usage",
        priority=1,
        granted_credits="30",
        applies_to={"billable_metric_codes": ["api_calls"]},
    )
    subs = await create_wallet(
        client,
        tenant_a,
        code="subs",
        priority=2,
        rate_amount="0.5",
        granted_credits="50",
        applies_to={"fee_types": ["subscription"]},
    )
    assert usage["applies_to"] == {"fee_types": [], "billable_metric_codes": ["api_calls"]}
    invoice_id = await invoice_with_fees(
        sessions,
        tenant_a,
        [("subscription", 4000, None), ("charge", 2050, charge_id), ("add_on", 1000, None)],
    )
    # usage pays 30.00 of the 20.50 charge? no: at most the charge, 20.50; subs pays
    # 25.00 of the subscription; general pays the rest: 15.00 + 10.00 + 0 = 25.00.
    assert await apply_credits(sessions, invoice_id) == (7050, 7050, 0)
    usage_now = await get_wallet(client, tenant_a, usage["lago_id"])
    subs_now = await get_wallet(client, tenant_a, subs["lago_id"])
    general_now = await get_wallet(client, tenant_a, general["lago_id"])
    assert (usage_now["balance_cents"], usage_now["credits_balance"]) == (950, "9.5")
    assert (subs_now["balance_cents"], subs_now["credits_balance"]) == (0, "0")
    assert (general_now["balance_cents"], general_now["credits_balance"]) == (7500, "75")
    # A second invoice: only general pays the subscription now; usage pays its charge.
    second = await invoice_with_fees(
        sessions, tenant_a, [("subscription", 1000, None), ("charge", 2000, charge_id)]
    )
    assert await apply_credits(sessions, second) == (3000, 3000, 0)
    usage_after = await get_wallet(client, tenant_a, usage["lago_id"])
    general_after = await get_wallet(client, tenant_a, general["lago_id"])
    assert (usage_after["balance_cents"], general_after["balance_cents"]) == (0, 5450)


async def test_consumptions_and_fundings_trace_fifo(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    wallet = await create_wallet(client, tenant_a, code="main", granted_credits="10")
    await post_transaction(client, tenant_a, wallet["lago_id"], granted_credits="5")
    grants = sorted(
        await list_transactions(client, tenant_a, wallet["lago_id"]), key=lambda t: t["amount"]
    )
    first = next(t for t in grants if t["amount"] == "10")
    second = next(t for t in grants if t["amount"] == "5")
    invoice_id = await invoice_with_fees(sessions, tenant_a, [("subscription", 1200, None)])
    assert await apply_credits(sessions, invoice_id) == (1200, 1200, 0)
    (outbound,) = await list_transactions(
        client, tenant_a, wallet["lago_id"], transaction_status="invoiced"
    )
    fundings = await client.get(
        f"/api/v1/wallet_transactions/{outbound['lago_id']}/fundings", headers=tenant_a.headers
    )
    assert fundings.status_code == 200, fundings.text
    body = fundings.json()
    assert lago_errors("WalletTransactionFundingsPaginated", body) == []
    assert sorted(
        (f["wallet_transaction"]["lago_id"], f["amount_cents"], f["credit_amount"])
        for f in body["wallet_transaction_fundings"]
    ) == sorted([(first["lago_id"], 1000, "10"), (second["lago_id"], 200, "2")])
    consumptions = await client.get(
        f"/api/v1/wallet_transactions/{second['lago_id']}/consumptions",
        headers=tenant_a.headers,
    )
    body = consumptions.json()
    assert lago_errors("WalletTransactionConsumptionsPaginated", body) == []
    assert [
        (c["wallet_transaction"]["lago_id"], c["amount_cents"])
        for c in body["wallet_transaction_consumptions"]
    ] == [(outbound["lago_id"], 200)]
    assert body["meta"]["total_count"] == 1
    # What is left of each inbound transaction.
    row = await client.get(
        f"/api/v1/wallet_transactions/{second['lago_id']}", headers=tenant_a.headers
    )
    assert (row.json()["wallet_transaction"]["remaining_amount_cents"]) == 300
    assert lago_errors("WalletTransactionObject", row.json()["wallet_transaction"]) == []
    # A void draws from what is left too, and the wrong direction is Lago's 422.
    response = await post_transaction(client, tenant_a, wallet["lago_id"], voided_credits="3")
    (voided,) = response.json()["wallet_transactions"]
    async with sessions() as session:
        links = (await session.scalars(select(WalletTransactionConsumption))).all()
    assert sorted(link.consumed_amount_cents for link in links) == [200, 300, 1000]
    drawn = [
        link for link in links if str(link.outbound_wallet_transaction_id) == voided["lago_id"]
    ]
    assert [(str(d.inbound_wallet_transaction_id), d.consumed_amount_cents) for d in drawn] == [
        (second["lago_id"], 300)
    ]
    wrong = await client.get(
        f"/api/v1/wallet_transactions/{voided['lago_id']}/consumptions", headers=tenant_a.headers
    )
    assert wrong.status_code == 422
    assert wrong.json()["error_details"] == {"transaction_type": ["invalid_transaction_type"]}
    # Wallets made before tracing existed answer not_traceable.
    async with transaction(sessions) as session:
        row_ = await session.get(Wallet, uuid.UUID(wallet["lago_id"]))
        assert row_ is not None
        row_.traceable = False
    untraceable = await client.get(
        f"/api/v1/wallet_transactions/{outbound['lago_id']}/fundings", headers=tenant_a.headers
    )
    assert untraceable.json()["error_details"] == {"wallet": ["not_traceable"]}


async def test_customer_wallet_routes(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await create_customer(client, tenant_a)
    body = {"wallet": {"rate_amount": "1", "currency": "USD", "code": "main", "priority": 3}}
    created = await client.post(CUSTOMER_WALLETS, json=body, headers=tenant_a.headers)
    assert created.status_code == 200, created.text
    assert lago_errors("Wallet", created.json()) == []
    wallet = created.json()["wallet"]
    assert (wallet["code"], wallet["priority"], wallet["external_customer_id"]) == (
        "main",
        3,
        "cus_1",
    )
    refused = await client.post(
        CUSTOMER_WALLETS,
        json={"wallet": {"rate_amount": "1", "currency": "USD", "code": "main", "priority": 0}},
        headers=tenant_a.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["error_details"] == {"priority": ["value_is_invalid"]}
    taken = await client.post(CUSTOMER_WALLETS, json=body, headers=tenant_a.headers)
    assert taken.json()["error_details"] == {"code": ["value_already_exist"]}
    listed = await client.get(CUSTOMER_WALLETS, headers=tenant_a.headers)
    assert lago_errors("WalletsPaginated", listed.json()) == []
    assert [w["lago_id"] for w in listed.json()["wallets"]] == [wallet["lago_id"]]
    found = await client.get(f"{CUSTOMER_WALLETS}/main", headers=tenant_a.headers)
    assert found.json()["wallet"]["lago_id"] == wallet["lago_id"]
    update = {"wallet": {"name": "Main", "priority": 1, "paid_top_up_min_amount_cents": 500}}
    updated = await client.put(f"{CUSTOMER_WALLETS}/main", json=update, headers=tenant_a.headers)
    assert lago_errors("Wallet", updated.json()) == []
    assert (
        updated.json()["wallet"]["name"],
        updated.json()["wallet"]["priority"],
        updated.json()["wallet"]["paid_top_up_min_amount_cents"],
    ) == ("Main", 1, 500)
    bad = await client.put(
        f"{CUSTOMER_WALLETS}/main",
        json={"wallet": {"priority": 99, "paid_top_up_max_amount_cents": 100}},
        headers=tenant_a.headers,
    )
    assert bad.status_code == 422
    assert bad.json()["error_details"] == {"priority": ["value_is_invalid"]}
    bad = await client.put(
        f"{CUSTOMER_WALLETS}/main",
        json={"wallet": {"paid_top_up_max_amount_cents": 100}},
        headers=tenant_a.headers,
    )
    assert bad.json()["error_details"] == {
        "paid_top_up_max_amount_cents": ["must_be_greater_than_or_equal_min"]
    }
    assert (await get_wallet(client, tenant_a, wallet["lago_id"]))["priority"] == 1
    # Other organizations see none of it.
    await create_customer(client, tenant_b)
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(
            method, f"{CUSTOMER_WALLETS}/main", json=update, headers=tenant_b.headers
        )
        assert response.status_code == 404, (method, response.text)
        assert response.json()["code"] == "wallet_not_found"
    assert (await client.get(CUSTOMER_WALLETS, headers=tenant_b.headers)).json()["wallets"] == []
    missing = await client.get("/api/v1/customers/nobody/wallets", headers=tenant_a.headers)
    assert missing.json()["code"] == "customer_not_found"
    terminated = await client.delete(f"{CUSTOMER_WALLETS}/main", headers=tenant_a.headers)
    assert lago_errors("Wallet", terminated.json()) == []
    assert terminated.json()["wallet"]["status"] == "terminated"


@pytest.mark.parametrize("by_code", [False, True])
async def test_wallet_metadata_routes(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant, by_code: bool
) -> None:
    await create_customer(client, tenant_a)
    wallet = await create_wallet(client, tenant_a, code="main", metadata={"a": "1"})
    assert wallet["metadata"] == {"a": "1"}
    base = (
        f"{CUSTOMER_WALLETS}/main/metadata"
        if by_code
        else f"/api/v1/wallets/{wallet['lago_id']}/metadata"
    )
    replaced = await client.post(
        base, json={"metadata": {"b": "2", "c": None}}, headers=tenant_a.headers
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {"metadata": {"b": "2", "c": None}}
    assert lago_errors("WalletMetadataResponse", replaced.json()) == []
    merged = await client.patch(
        base, json={"metadata": {"b": "3", "d": "4"}}, headers=tenant_a.headers
    )
    assert merged.json() == {"metadata": {"b": "3", "c": None, "d": "4"}}
    one = await client.delete(f"{base}/c", headers=tenant_a.headers)
    assert one.json() == {"metadata": {"b": "3", "d": "4"}}
    assert (await get_wallet(client, tenant_a, wallet["lago_id"]))["metadata"] == {
        "b": "3",
        "d": "4",
    }
    bad = await client.post(base, json={"metadata": {"k": 5}}, headers=tenant_a.headers)
    assert bad.status_code == 422
    assert bad.json()["error_details"] == {"metadata": ["invalid_value"]}, bad.text
    bad = await client.patch(base, json={"metadata": {"x" * 101: "v"}}, headers=tenant_a.headers)
    assert bad.status_code == 422
    assert bad.json()["error_details"] == {"metadata": ["invalid_key"]}, bad.text
    # Another organization: 404, nothing changed.
    await create_customer(client, tenant_b)
    for method in ("POST", "PATCH", "DELETE"):
        response = await client.request(
            method, base, json={"metadata": {"z": "9"}}, headers=tenant_b.headers
        )
        assert response.status_code == 404, (method, response.text)
    cleared = await client.delete(base, headers=tenant_a.headers)
    assert cleared.json() == {"metadata": None}
    assert lago_errors("WalletMetadataResponse", cleared.json()) == []


async def test_paid_top_up_limits(
    temporal_client: httpx.AsyncClient, tenant_a: Tenant, temporal_env: WorkflowEnvironment
) -> None:
    client = temporal_client
    await create_customer(client, tenant_a)
    wallet = await create_wallet(
        client,
        tenant_a,
        paid_top_up_min_amount_cents=500,
        paid_top_up_max_amount_cents=1000,
        invoice_requires_successful_payment=True,
    )
    for credits, code in (("4.99", "amount_below_minimum"), ("10.01", "amount_above_maximum")):
        response = await post_transaction(client, tenant_a, wallet["lago_id"], paid_credits=credits)
        assert response.status_code == 422
        assert response.json()["error_details"] == {"paid_credits": [code]}
    assert await list_transactions(client, tenant_a, wallet["lago_id"]) == []
    response = await post_transaction(
        client, tenant_a, wallet["lago_id"], paid_credits="20", ignore_paid_top_up_limits=True
    )
    assert response.status_code == 200, response.text
    (purchase,) = response.json()["wallet_transactions"]
    invoice_id = purchase["lago_invoice_id"]
    await temporal_env.client.get_workflow_handle(f"invoice-payment/{invoice_id}/1").terminate()
    assert lago_errors("WalletTransactions", response.json()) == []
    assert (purchase["status"], purchase["invoice_requires_successful_payment"]) == (
        "pending",
        True,
    )
    assert purchase["remaining_amount_cents"] is None  # nothing to draw until it is paid
    # Its payment URL: the customer has no payment provider (Lago's 422).
    url = await client.post(
        f"/api/v1/wallet_transactions/{purchase['lago_id']}/payment_url", headers=tenant_a.headers
    )
    assert url.status_code == 422, url.text
    granted = await post_transaction(client, tenant_a, wallet["lago_id"], granted_credits="1")
    (grant,) = granted.json()["wallet_transactions"]
    url = await client.post(
        f"/api/v1/wallet_transactions/{grant['lago_id']}/payment_url", headers=tenant_a.headers
    )
    assert url.json()["error_details"] == {"base": ["wallet_transaction_not_purchased"]}


async def test_transaction_routes_are_isolated(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await create_customer(client, tenant_a)
    wallet = await create_wallet(client, tenant_a, granted_credits="1")
    (grant,) = await list_transactions(client, tenant_a, wallet["lago_id"])
    for method, suffix in (
        ("GET", "/consumptions"),
        ("GET", "/fundings"),
        ("POST", "/payment_url"),
        ("GET", ""),
    ):
        response = await client.request(
            method,
            f"/api/v1/wallet_transactions/{grant['lago_id']}{suffix}",
            headers=tenant_b.headers,
        )
        assert response.status_code == 404, (suffix, response.text)
        assert response.json()["code"] == "wallet_transaction_not_found"


async def test_applies_to_and_priority_survive_updates_that_omit_them(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a)
    wallet = await create_wallet(
        client, tenant_a, priority=7, applies_to={"fee_types": ["charge", "charge"]}
    )
    assert wallet["applies_to"]["fee_types"] == ["charge"]
    response = await client.put(
        f"/api/v1/wallets/{wallet['lago_id']}",
        json={"wallet": {"name": "Renamed"}},
        headers=tenant_a.headers,
    )
    updated: dict[str, Any] = response.json()["wallet"]
    assert (updated["priority"], updated["applies_to"]["fee_types"]) == (7, ["charge"])
