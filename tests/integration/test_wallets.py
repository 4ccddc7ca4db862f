"""/api/v1/wallets in Lago's shapes: creation, reads, updates, termination, expiry."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import Customer, TestClock, Wallet, WalletTransaction
from tests.support.auth import Tenant

FUTURE = "2099-12-31T23:59:59Z"


async def create_customer(
    client: httpx.AsyncClient, tenant: Tenant, external_id: str = "cus_1", **fields: Any
) -> dict[str, Any]:
    body = {"customer": {"external_id": external_id, **fields}}
    response = await client.post("/api/v1/customers", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    customer: dict[str, Any] = response.json()["customer"]
    return customer


async def post_wallet(
    client: httpx.AsyncClient, tenant: Tenant, customer: str = "cus_1", **fields: Any
) -> httpx.Response:
    body = {"external_customer_id": customer, "rate_amount": "1", "currency": "USD"} | fields
    return await client.post("/api/v1/wallets", json={"wallet": body}, headers=tenant.headers)


async def create_wallet(
    client: httpx.AsyncClient, tenant: Tenant, customer: str = "cus_1", **fields: Any
) -> dict[str, Any]:
    response = await post_wallet(client, tenant, customer, **fields)
    assert response.status_code == 200, response.text
    wallet: dict[str, Any] = response.json()["wallet"]
    return wallet


async def get_wallet(client: httpx.AsyncClient, tenant: Tenant, lago_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/wallets/{lago_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    wallet: dict[str, Any] = response.json()["wallet"]
    return wallet


async def attach_clock(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, at: datetime
) -> uuid.UUID:
    async with transaction(sessions) as session:
        clock = TestClock(organization_id=tenant.organization_id, name="clock", frozen_time=at)
        session.add(clock)
        await session.flush()
        return clock.id


async def set_clock(
    sessions: async_sessionmaker[AsyncSession], clock: uuid.UUID, at: datetime
) -> None:
    async with transaction(sessions) as session:
        await session.execute(update(TestClock).where(TestClock.id == clock).values(frozen_time=at))


async def test_create_returns_lagos_wallet_object(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    customer = await create_customer(client, tenant_a)
    wallet = await create_wallet(
        client,
        tenant_a,
        name="Prepaid",
        code="prepaid",
        rate_amount="1.5",
        currency="USD",
        granted_credits="10",
        expiration_at=FUTURE,
    )
    async with sessions() as session:
        row = await session.scalar(select(Wallet))
        assert row is not None
        granted = await session.scalar(select(WalletTransaction))
        db_customer = await session.scalar(select(Customer))
    assert row is not None
    assert granted is not None
    assert db_customer is not None
    assert wallet == {
        "lago_id": str(row.id),
        "lago_customer_id": customer["lago_id"],
        "external_customer_id": "cus_1",
        "status": "active",
        "currency": "USD",
        "name": "Prepaid",
        "code": "prepaid",
        "priority": 50,
        "rate_amount": "1.5",
        "credits_balance": "10",
        "balance": "15",
        "balance_cents": 1500,
        "consumed_credits": "0",
        "consumed_amount_cents": 0,
        "ongoing_balance_cents": 1500,
        "ongoing_usage_balance_cents": 0,
        "credits_ongoing_balance": "10",
        "credits_ongoing_usage_balance": "0",
        "created_at": wallet["created_at"],
        "expiration_at": FUTURE,
        "last_balance_sync_at": wallet["created_at"],
        "last_consumed_credit_at": None,
        "terminated_at": None,
        "invoice_requires_successful_payment": False,
        "recurring_transaction_rules": [],
        "applies_to": {"fee_types": [], "billable_metric_codes": []},
        "paid_top_up_min_amount_cents": None,
        "paid_top_up_max_amount_cents": None,
        "applied_invoice_custom_sections": [],
        "payment_method": {"payment_method_type": "provider"},
        "purchase_order_number": None,
        "metadata": None,
    }
    assert (granted.transaction_status, granted.status, granted.amount_cents) == (
        "granted",
        "settled",
        1500,
    )
    assert db_customer.currency == "USD"  # the customer had none: it takes the wallet's


async def test_wallet_codes_are_unique_among_a_customers_active_wallets(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a)
    first = await create_wallet(client, tenant_a, code="main")
    response = await post_wallet(client, tenant_a, code="main")
    assert response.status_code == 422
    assert response.json()["error_details"] == {"code": ["value_already_exist"]}
    other = await create_wallet(client, tenant_a, code="promo", priority=1)
    assert (other["code"], other["priority"]) == ("promo", 1)
    await client.delete(f"/api/v1/wallets/{first['lago_id']}", headers=tenant_a.headers)
    second = await create_wallet(client, tenant_a, code="main")
    assert second["lago_id"] != first["lago_id"]
    # Without a code, Lago's: the name parameterized, made unique when taken.
    named = await create_wallet(client, tenant_a, name="Main Credits!")
    assert named["code"] == "main_credits"
    again = await create_wallet(client, tenant_a, name="Main Credits!")
    assert again["code"].startswith("main_credits_")


async def test_wallet_currency_must_match_the_customers(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a, currency="EUR")
    response = await post_wallet(client, tenant_a, currency="USD")
    assert response.status_code == 422
    assert response.json()["error_details"] == {"currency": ["currencies_does_not_match"]}
    assert (await create_wallet(client, tenant_a, currency="EUR"))["currency"] == "EUR"


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ({"rate_amount": "0"}, {"rate_amount": ["invalid_rate_amount"]}),
        ({"rate_amount": "-1"}, {"rate_amount": ["invalid_rate_amount"]}),
        ({"rate_amount": "abc"}, {"rate_amount": ["invalid_rate_amount"]}),
        ({"rate_amount": None}, {"rate_amount": ["invalid_rate_amount"]}),
        ({"currency": "XXX1"}, {"currency": ["value_is_invalid"]}),
        ({"currency": 12}, {"currency": ["value_is_invalid"]}),
        ({"paid_credits": "-5"}, {"paid_credits": ["invalid_paid_credits"]}),
        ({"paid_credits": "ten"}, {"paid_credits": ["invalid_paid_credits"]}),
        ({"paid_credits": "0.001"}, {"paid_credits": ["invalid_paid_credits"]}),  # < 1 cent
        ({"granted_credits": "1.123456"}, {"granted_credits": ["invalid_granted_credits"]}),
        ({"granted_credits": {"a": 1}}, {"granted_credits": ["invalid_granted_credits"]}),
        (
            {"granted_credits": "9999999999999999999999", "rate_amount": "1000"},
            {"granted_credits": ["invalid_granted_credits"]},
        ),
        (
            {"paid_credits": "9999999999999999999999", "rate_amount": "1000"},
            {"paid_credits": ["invalid_paid_credits"]},
        ),
        ({"expiration_at": "2020-01-01T00:00:00Z"}, {"expiration_at": ["invalid_date"]}),
        ({"expiration_at": "soon"}, {"expiration_at": ["invalid_date"]}),
        ({"name": 5}, {"name": ["invalid_type"]}),
        (
            {"recurring_transaction_rules": [{"trigger": "interval"}]},
            {"recurring_transaction_rules": ["invalid_recurring_rule"]},
        ),
        (
            {"recurring_transaction_rules": [{"trigger": "bogus"}, {"trigger": "bogus"}]},
            {"recurring_transaction_rules": ["invalid_number_of_recurring_rules"]},
        ),
        ({"applies_to": {"fee_types": ["bogus"]}}, {"allowed_fee_types": ["invalid_fee_types"]}),
        (
            {"applies_to": {"billable_metric_codes": ["nope"]}},
            {"billable_metrics": ["invalid_identifier"]},
        ),
        (
            {"invoice_requires_successful_payment": "yes"},
            {"invoice_requires_successful_payment": ["invalid_type"]},
        ),
        (
            {"paid_top_up_min_amount_cents": 200, "paid_top_up_max_amount_cents": 100},
            {"paid_top_up_max_amount_cents": ["must_be_greater_than_or_equal_min"]},
        ),
        (
            {"paid_top_up_min_amount_cents": 0},
            {"paid_top_up_min_amount_cents": ["value_is_invalid"]},
        ),
        (
            {"paid_credits": "1", "paid_top_up_min_amount_cents": 200},
            {"paid_credits": ["amount_below_minimum"]},
        ),
        (
            {"paid_credits": "3", "paid_top_up_max_amount_cents": 200},
            {"paid_credits": ["amount_above_maximum"]},
        ),
        ({"priority": 0}, {"priority": ["value_is_invalid"]}),
        ({"priority": 51}, {"priority": ["value_is_invalid"]}),
    ],
)
async def test_create_rejects_bad_input(
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    fields: dict[str, Any],
    details: dict[str, list[str]],
) -> None:
    await create_customer(client, tenant_a)
    response = await post_wallet(client, tenant_a, **fields)
    assert response.status_code == 422, response.text
    assert response.json()["error_details"] == details
    async with sessions() as session:
        assert (await session.scalar(select(Wallet))) is None
        customer = await session.scalar(select(Customer))
    assert customer is not None
    assert customer.currency is None


async def test_absent_lago_only_features_are_accepted(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a)
    response = await post_wallet(
        client,
        tenant_a,
        recurring_transaction_rules=[],
        applies_to={"fee_types": [], "billable_metric_codes": []},
        invoice_requires_successful_payment=False,
        paid_top_up_min_amount_cents=None,
        metadata={"ignored": "yes"},
    )
    assert response.status_code == 200, response.text


async def test_concurrent_creations_of_one_code_make_one_wallet(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    responses = await asyncio.gather(
        *(post_wallet(client, tenant_a, code="main") for _ in range(4))
    )
    assert sorted(r.status_code for r in responses) == [200, 422, 422, 422]
    async with sessions() as session:
        assert len((await session.scalars(select(Wallet))).all()) == 1


async def test_create_needs_its_fields_and_a_known_customer(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    response = await client.post("/api/v1/wallets", json={"wallet": {}}, headers=tenant_a.headers)
    assert response.status_code == 422
    assert response.json()["error_details"] == {
        "external_customer_id": ["value_is_mandatory"],
        "rate_amount": ["value_is_mandatory"],
        "currency": ["value_is_mandatory"],
    }
    response = await post_wallet(client, tenant_a, customer="nobody")
    assert response.status_code == 404
    assert response.json() == {"status": 404, "error": "Not Found", "code": "customer_not_found"}


async def test_list_filters_by_customer_and_currency(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a, "cus_1")
    await create_customer(client, tenant_a, "cus_2")
    one = await create_wallet(client, tenant_a, "cus_1")
    two = await create_wallet(client, tenant_a, "cus_2", currency="EUR")
    listed = await client.get(
        "/api/v1/wallets", params={"external_customer_id": "cus_1"}, headers=tenant_a.headers
    )
    assert [w["lago_id"] for w in listed.json()["wallets"]] == [one["lago_id"]]
    assert listed.json()["meta"]["total_count"] == 1
    everything = await client.get("/api/v1/wallets", headers=tenant_a.headers)
    assert {w["lago_id"] for w in everything.json()["wallets"]} == {one["lago_id"], two["lago_id"]}
    euros = await client.get(
        "/api/v1/wallets", params={"currency": "EUR"}, headers=tenant_a.headers
    )
    assert [w["lago_id"] for w in euros.json()["wallets"]] == [two["lago_id"]]
    unknown = await client.get(
        "/api/v1/wallets", params={"external_customer_id": "nobody"}, headers=tenant_a.headers
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "customer_not_found"


async def test_update_changes_name_and_expiration(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await create_customer(client, tenant_a)
    wallet = await create_wallet(client, tenant_a, name="Old", expiration_at=FUTURE)
    url = f"/api/v1/wallets/{wallet['lago_id']}"
    response = await client.put(
        url,
        json={
            "wallet": {"name": "New", "expiration_at": "2098-01-01T00:00:00Z", "rate_amount": "9"}
        },
        headers=tenant_a.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()["wallet"]
    assert (updated["name"], updated["expiration_at"], updated["rate_amount"]) == (
        "New",
        "2098-01-01T00:00:00Z",
        "1",  # the rate is not editable
    )
    cleared = await client.put(
        url, json={"wallet": {"expiration_at": None}}, headers=tenant_a.headers
    )
    assert cleared.json()["wallet"]["expiration_at"] is None
    assert cleared.json()["wallet"]["name"] == "New"
    past = await client.put(
        url, json={"wallet": {"expiration_at": "2001-01-01T00:00:00Z"}}, headers=tenant_a.headers
    )
    assert past.status_code == 422
    assert past.json()["error_details"] == {"expiration_at": ["invalid_date"]}


async def test_updating_an_expired_wallet_is_refused(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clock = await attach_clock(sessions, tenant_a, datetime(2030, 1, 1, tzinfo=UTC))
    await create_customer(client, tenant_a, test_clock_id=str(clock))
    wallet = await create_wallet(client, tenant_a, expiration_at="2030-01-02T00:00:00Z")
    await set_clock(sessions, clock, datetime(2030, 1, 3, tzinfo=UTC))
    response = await client.put(
        f"/api/v1/wallets/{wallet['lago_id']}",
        json={"wallet": {"name": "late"}},
        headers=tenant_a.headers,
    )
    assert response.status_code == 422
    assert response.json()["error_details"] == {"wallet": ["wallet_is_terminated"]}
    current = await get_wallet(client, tenant_a, wallet["lago_id"])
    assert (current["status"], current["name"]) == ("terminated", None)


async def test_delete_terminates_and_voids_remaining_credits(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create_customer(client, tenant_a)
    wallet = await create_wallet(client, tenant_a, granted_credits="25")
    url = f"/api/v1/wallets/{wallet['lago_id']}"
    response = await client.delete(url, headers=tenant_a.headers)
    assert response.status_code == 200
    terminated = response.json()["wallet"]
    assert (terminated["status"], terminated["credits_balance"], terminated["balance_cents"]) == (
        "terminated",
        "0",
        0,
    )
    assert terminated["terminated_at"] is not None
    again = await client.delete(url, headers=tenant_a.headers)
    assert again.json()["wallet"] == terminated
    async with sessions() as session:
        rows = (await session.scalars(select(WalletTransaction))).all()
    assert sorted((r.transaction_status, r.transaction_type, r.credit_amount) for r in rows) == [
        ("granted", "inbound", Decimal(25)),
        ("voided", "outbound", Decimal(25)),
    ]
    edit = await client.put(url, json={"wallet": {"name": "x"}}, headers=tenant_a.headers)
    assert edit.status_code == 422
    assert edit.json()["error_details"] == {"wallet": ["wallet_is_terminated"]}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("lago_id", ["00000000-0000-4000-8000-00000000beef", "not-a-uuid"])
async def test_unknown_wallet_is_404(
    client: httpx.AsyncClient, tenant_a: Tenant, method: str, lago_id: str
) -> None:
    response = await client.request(
        method, f"/api/v1/wallets/{lago_id}", json={"wallet": {}}, headers=tenant_a.headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "wallet_not_found"


async def test_wallets_are_isolated_per_organization(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    await create_customer(client, tenant_a)
    wallet = await create_wallet(client, tenant_a, granted_credits="5")
    url = f"/api/v1/wallets/{wallet['lago_id']}"
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, url, json={"wallet": {}}, headers=tenant_b.headers)
        assert response.status_code == 404
    assert (await client.get("/api/v1/wallets", headers=tenant_b.headers)).json()["wallets"] == []
    response = await post_wallet(client, tenant_b)  # B has no customer cus_1
    assert response.status_code == 404
    body = {"wallet_transaction": {"wallet_id": wallet["lago_id"], "granted_credits": "1"}}
    topped = await client.post("/api/v1/wallet_transactions", json=body, headers=tenant_b.headers)
    assert topped.status_code == 404
    assert (await get_wallet(client, tenant_a, wallet["lago_id"]))["credits_balance"] == "5"


async def test_expiry_is_applied_when_the_wallet_is_read(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    clock = await attach_clock(sessions, tenant_a, start)
    await create_customer(client, tenant_a, test_clock_id=str(clock))
    wallet = await create_wallet(
        client, tenant_a, granted_credits="12", expiration_at="2030-01-31T12:00:00Z"
    )
    assert wallet["created_at"] == "2030-01-01T00:00:00Z"  # the customer's (clock) time
    await set_clock(sessions, clock, datetime(2030, 1, 31, 11, 59, 59, tzinfo=UTC))
    assert (await get_wallet(client, tenant_a, wallet["lago_id"]))["status"] == "active"
    await set_clock(sessions, clock, datetime(2030, 1, 31, 12, 0, tzinfo=UTC))
    expired = await get_wallet(client, tenant_a, wallet["lago_id"])
    assert (expired["status"], expired["credits_balance"], expired["terminated_at"]) == (
        "terminated",
        "0",
        "2030-01-31T12:00:00Z",
    )
    await set_clock(sessions, clock, datetime(2030, 3, 1, tzinfo=UTC))
    assert await get_wallet(client, tenant_a, wallet["lago_id"]) == expired  # idempotent
    async with sessions() as session:
        voided = (
            await session.scalars(
                select(WalletTransaction).where(WalletTransaction.transaction_status == "voided")
            )
        ).all()
    assert [(v.credit_amount, v.amount_cents, v.settled_at) for v in voided] == [
        (Decimal(12), 1200, datetime(2030, 1, 31, 12, 0, tzinfo=UTC))
    ]
    # An expired wallet frees the customer for a new one.
    assert (await create_wallet(client, tenant_a))["status"] == "active"


async def test_expiry_is_applied_when_listing_and_before_a_new_wallet(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clock = await attach_clock(sessions, tenant_a, datetime(2030, 1, 1, tzinfo=UTC))
    await create_customer(client, tenant_a, test_clock_id=str(clock))
    await create_wallet(client, tenant_a, granted_credits="3", expiration_at="2030-02-01T00:00:00Z")
    await set_clock(sessions, clock, datetime(2030, 2, 1, tzinfo=UTC))
    listed = (await client.get("/api/v1/wallets", headers=tenant_a.headers)).json()["wallets"]
    assert [(w["status"], w["credits_balance"]) for w in listed] == [("terminated", "0")]


async def test_an_expired_wallet_is_replaced_on_creation(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clock = await attach_clock(sessions, tenant_a, datetime(2030, 1, 1, tzinfo=UTC))
    await create_customer(client, tenant_a, test_clock_id=str(clock))
    old = await create_wallet(client, tenant_a, granted_credits="3", expiration_at="2030-02-01")
    assert old["expiration_at"] == "2030-02-01T23:59:59Z"  # a date means the end of that day
    await set_clock(sessions, clock, datetime(2030, 2, 2, tzinfo=UTC))
    new = await create_wallet(client, tenant_a, granted_credits="1")
    assert (await get_wallet(client, tenant_a, old["lago_id"]))["status"] == "terminated"
    assert new["credits_balance"] == "1"
