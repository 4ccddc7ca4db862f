"""Portal routes: what the token's customer reads and changes, and that it never reaches
another customer of its organization (B) or a customer of another organization (C)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import AppliedCoupon, Coupon, Customer, Organization, Wallet
from tests.integration.test_payments import insert_invoice
from tests.support.auth import Tenant
from tests.support.portal import bearer, create_customer, portal_token


@dataclass
class World:
    """Organization X (tenant_a) has customers A and B; organization Y (tenant_b) has C,
    whose external id is A's."""

    token: str  # A's
    a: dict[str, Any]
    b: dict[str, Any]
    c: dict[str, Any]
    invoices: dict[str, uuid.UUID]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def _wallet(client: httpx.AsyncClient, tenant: Tenant, customer: str, granted: str) -> None:
    body = {
        "external_customer_id": customer,
        "rate_amount": "1",
        "currency": "USD",
        "name": f"Credits of {customer}",
        "granted_credits": granted,
    }
    response = await client.post("/api/v1/wallets", json={"wallet": body}, headers=tenant.headers)
    assert response.status_code == 200, response.text


@pytest.fixture
async def world(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    tenant_b: Tenant,
) -> World:
    a = await create_customer(client, tenant_a, "cust-a", name="Alice", email="a@example.com")
    b = await create_customer(client, tenant_a, "cust-b", name="Bob", email="b@example.com")
    c = await create_customer(client, tenant_b, "cust-a", name="Carol", email="c@example.com")
    ids = {key: uuid.UUID(row["lago_id"]) for key, row in (("a", a), ("b", b), ("c", c))}
    invoices = {
        "a1": await insert_invoice(sessions, tenant_a, ids["a"], total=1000),
        "a2": await insert_invoice(sessions, tenant_a, ids["a"], total=2500),
        "a_draft": await insert_invoice(sessions, tenant_a, ids["a"], status="draft"),
        "a_voided": await insert_invoice(sessions, tenant_a, ids["a"], status="voided"),
        "b1": await insert_invoice(sessions, tenant_a, ids["b"], total=4000),
        "c1": await insert_invoice(sessions, tenant_b, ids["c"], total=7000),
    }
    token = await portal_token(client, tenant_a, "cust-a")
    return World(token, a, b, c, invoices)


def _text(response: httpx.Response) -> str:
    return json.dumps(response.json())


# --- profile -------------------------------------------------------------------------------


async def test_profile_reads_and_updates_only_its_customer(
    client: httpx.AsyncClient, world: World, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    profile = await client.get("/api/v1/portal/profile", headers=world.headers)
    assert profile.status_code == 200
    shown = profile.json()["customer"]
    assert (shown["external_id"], shown["name"], shown["email"]) == (
        "cust-a",
        "Alice",
        "a@example.com",
    )
    assert shown["organization"]["name"] == "Org A"

    change = {
        "name": "Alice Ltd",
        "email": "billing@alice.example",
        "legal_name": "Alice Limited",
        "tax_identification_number": "FR123",
        "address_line1": "1 rue de la Paix",
        "city": "Paris",
        "zipcode": "75002",
        "country": "FR",
    }
    updated = await client.put(
        "/api/v1/portal/profile", json={"customer": change}, headers=world.headers
    )
    assert updated.status_code == 200, updated.text
    assert {k: updated.json()["customer"][k] for k in change} == change
    # Through the organization's API: A changed, B and C (same external id, org Y) did not.
    a = (await client.get("/api/v1/customers/cust-a", headers=tenant_a.headers)).json()
    assert {k: a["customer"][k] for k in change} == change
    assert a["customer"]["currency"] == "USD"
    b = (await client.get("/api/v1/customers/cust-b", headers=tenant_a.headers)).json()
    assert (b["customer"]["name"], b["customer"]["email"]) == ("Bob", "b@example.com")
    c = (await client.get("/api/v1/customers/cust-a", headers=tenant_b.headers)).json()
    assert (c["customer"]["name"], c["customer"]["email"]) == ("Carol", "c@example.com")
    # Null clears a field; fields left out keep their value.
    cleared = await client.put(
        "/api/v1/portal/profile", json={"customer": {"city": None}}, headers=world.headers
    )
    assert cleared.json()["customer"]["city"] is None
    assert cleared.json()["customer"]["name"] == "Alice Ltd"


async def test_profile_update_refuses_what_a_customer_may_not_change(
    client: httpx.AsyncClient, world: World, tenant_a: Tenant
) -> None:
    refusals = [
        ({"external_id": "cust-b"}, {"external_id": ["unknown_field"]}),
        ({"currency": "EUR"}, {"currency": ["unknown_field"]}),
        ({"billing_configuration": {"provider_customer_id": "x"}}, None),
        ({"metadata": []}, {"metadata": ["unknown_field"]}),
        ({"country": "XX"}, None),
        ({"email": "not an email"}, None),
    ]
    for change, details in refusals:
        response = await client.put(
            "/api/v1/portal/profile", json={"customer": change}, headers=world.headers
        )
        assert response.status_code == 422, change
        assert response.json()["code"] == "validation_errors"
        if details is not None:
            assert response.json()["error_details"] == details
    organization_change = await client.put(
        "/api/v1/portal/profile",
        json={"customer": {"name": "x"}, "organization": {"name": "Mine"}},
        headers=world.headers,
    )
    assert organization_change.status_code == 422
    a = (await client.get("/api/v1/customers/cust-a", headers=tenant_a.headers)).json()
    assert (a["customer"]["external_id"], a["customer"]["currency"]) == ("cust-a", "USD")
    assert a["customer"]["name"] == "Alice"


async def test_profile_omits_what_a_customer_must_not_see(
    client: httpx.AsyncClient,
    world: World,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    billing = {
        "payment_provider": "stripe",
        "payment_provider_code": "stripe_prod",
        "provider_customer_id": "cus_SECRETPROVIDERID",
    }
    await create_customer(
        client,
        tenant_a,
        "cust-a",
        billing_configuration=billing,
        metadata=[{"key": "crm_score", "value": "internal-42", "display_in_invoice": False}],
    )
    async with transaction(sessions) as session:
        org = await session.get(Organization, tenant_a.organization_id)
        assert org is not None
        org.hmac_key = "whsec_HMACKEYOFTHEORG"
    text = _text(await client.get("/api/v1/portal/profile", headers=world.headers))
    for secret in (
        "cus_SECRETPROVIDERID",
        "stripe_prod",
        "internal-42",
        "whsec_HMACKEYOFTHEORG",
        str(tenant_a.organization_id),
        tenant_a.api_key,
        world.a["lago_id"],
        "cust-b",
    ):
        assert secret not in text, secret


# --- invoices ------------------------------------------------------------------------------


async def test_invoices_list_only_the_customers_own(
    client: httpx.AsyncClient, world: World
) -> None:
    listed = await client.get("/api/v1/portal/invoices", headers=world.headers)
    assert listed.status_code == 200
    ids = {row["lago_id"] for row in listed.json()["invoices"]}
    # A's finalized and voided invoices; not its draft, not B's, not C's.
    assert ids == {str(world.invoices[k]) for k in ("a1", "a2", "a_voided")}
    totals = sorted(row["total_amount_cents"] for row in listed.json()["invoices"])
    assert totals == [1000, 1000, 2500]
    assert listed.json()["meta"]["total_count"] == 3

    first = await client.get(
        "/api/v1/portal/invoices", params={"per_page": 2, "page": 1}, headers=world.headers
    )
    second = await client.get(
        "/api/v1/portal/invoices", params={"per_page": 2, "page": 2}, headers=world.headers
    )
    assert first.json()["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 3,
    }
    paged = [r["lago_id"] for r in first.json()["invoices"] + second.json()["invoices"]]
    assert set(paged) == ids
    assert len(paged) == 3
    finalized = await client.get(
        "/api/v1/portal/invoices", params={"status": "finalized"}, headers=world.headers
    )
    assert {r["lago_id"] for r in finalized.json()["invoices"]} == {
        str(world.invoices["a1"]),
        str(world.invoices["a2"]),
    }
    drafts = await client.get(
        "/api/v1/portal/invoices", params={"status": "draft"}, headers=world.headers
    )
    assert drafts.status_code == 422


async def test_invoice_show_and_pdf_only_the_customers_own(
    client: httpx.AsyncClient, world: World, tenant_a: Tenant
) -> None:
    own = world.invoices["a2"]
    shown = await client.get(f"/api/v1/portal/invoices/{own}", headers=world.headers)
    assert shown.status_code == 200
    invoice = shown.json()["invoice"]
    assert (invoice["total_amount_cents"], invoice["total_due_amount_cents"]) == (2500, 2500)
    assert (invoice["status"], invoice["payment_status"]) == ("finalized", "pending")
    text = _text(shown)
    for hidden in (str(tenant_a.organization_id), world.a["lago_id"], "lago_customer_id"):
        assert hidden not in text

    pdf = await client.get(f"/api/v1/portal/invoices/{own}/download", headers=world.headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # A plain link: the token as the query parameter.
    linked = await client.get(
        f"/api/v1/portal/invoices/{own}/download", params={"token": world.token}
    )
    assert linked.status_code == 200

    for other in ("b1", "c1", "a_draft"):
        lago_id = world.invoices[other]
        for path in (
            f"/api/v1/portal/invoices/{lago_id}",
            f"/api/v1/portal/invoices/{lago_id}/download",
        ):
            response = await client.get(path, headers=world.headers)
            assert response.status_code == 404, (other, path)
            assert response.json()["code"] == "invoice_not_found"
    bad = await client.get("/api/v1/portal/invoices/not-a-uuid", headers=world.headers)
    assert bad.status_code == 404


async def test_pay_now_reaches_only_the_customers_own_payable_invoices(
    client: httpx.AsyncClient, world: World, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for other in ("b1", "c1", "a_draft"):
        response = await client.post(
            f"/api/v1/portal/invoices/{world.invoices[other]}/pay", headers=world.headers
        )
        assert response.status_code == 404, other
    voided = await client.post(
        f"/api/v1/portal/invoices/{world.invoices['a_voided']}/pay", headers=world.headers
    )
    assert (voided.status_code, voided.json()["code"]) == (405, "invoice_not_payable")
    # A has no payment provider: nothing can be started.
    no_provider = await client.post(
        f"/api/v1/portal/invoices/{world.invoices['a1']}/pay", headers=world.headers
    )
    assert no_provider.status_code == 422
    assert no_provider.json()["error_details"] == {
        "payment_provider": ["customer_has_no_payment_provider"]
    }


# --- wallet --------------------------------------------------------------------------------


async def test_wallet_shows_only_the_customers_own(
    client: httpx.AsyncClient, world: World, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    missing = await client.get("/api/v1/portal/wallet", headers=world.headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "wallet_not_found")
    await _wallet(client, tenant_a, "cust-b", "99")
    await _wallet(client, tenant_b, "cust-a", "77")
    # B's and C's wallets are not A's.
    assert (await client.get("/api/v1/portal/wallet", headers=world.headers)).status_code == 404
    transactions = await client.get(
        "/api/v1/portal/wallet/wallet_transactions", headers=world.headers
    )
    assert transactions.status_code == 404

    await _wallet(client, tenant_a, "cust-a", "12.5")
    wallet = (await client.get("/api/v1/portal/wallet", headers=world.headers)).json()["wallet"]
    assert (wallet["credits_balance"], wallet["balance_cents"]) == ("12.5", 1250)
    assert wallet["name"] == "Credits of cust-a"
    listed = await client.get(
        "/api/v1/portal/wallet/wallet_transactions",
        params={"per_page": 10},
        headers=world.headers,
    )
    rows = listed.json()["wallet_transactions"]
    assert [(r["transaction_status"], r["credit_amount"], r["amount_cents"]) for r in rows] == [
        ("granted", "12.5", 1250)
    ]
    assert listed.json()["meta"]["total_count"] == 1
    assert "lago_wallet_id" not in _text(listed)


async def test_top_up_refusals_change_nothing(
    client: httpx.AsyncClient,
    world: World,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _wallet(client, tenant_a, "cust-a", "1")
    for body, details in (
        ({"paid_credits": "0"}, {"paid_credits": ["invalid_paid_credits"]}),
        ({"paid_credits": "-5"}, None),
        ({"paid_credits": "5", "granted_credits": "100"}, {"granted_credits": ["unknown_field"]}),
        ({"paid_credits": "5", "wallet_id": "x"}, {"wallet_id": ["unknown_field"]}),
    ):
        response = await client.post(
            "/api/v1/portal/wallet/wallet_transactions",
            json={"wallet_transaction": body},
            headers=world.headers,
        )
        assert response.status_code == 422, body
        if details is not None:
            assert response.json()["error_details"] == details
    async with sessions() as session:
        wallets = (await session.scalars(select(Wallet))).all()
    assert [(w.balance_cents, w.credits_balance) for w in wallets] == [(100, Decimal(1))]


# --- coupons -------------------------------------------------------------------------------


async def _coupon(client: httpx.AsyncClient, tenant: Tenant, code: str, **fields: Any) -> None:
    body = {
        "name": code.title(),
        "code": code,
        "coupon_type": "fixed_amount",
        "amount_cents": 1500,
        "amount_currency": "USD",
        "frequency": "once",
        "expiration": "no_expiration",
        "reusable": True,
    } | fields
    response = await client.post("/api/v1/coupons", json={"coupon": body}, headers=tenant.headers)
    assert response.status_code == 200, response.text


async def _redeem(client: httpx.AsyncClient, world: World, code: str) -> httpx.Response:
    return await client.post(
        "/api/v1/portal/coupons",
        json={"applied_coupon": {"coupon_code": code}},
        headers=world.headers,
    )


async def test_coupon_redemption_applies_to_the_customer_only(
    client: httpx.AsyncClient,
    world: World,
    tenant_a: Tenant,
    tenant_b: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _coupon(client, tenant_a, "welcome")
    await _coupon(client, tenant_b, "yonly")
    # Another organization's code is unknown here.
    refused = await _redeem(client, world, "yonly")
    assert refused.status_code == 422
    assert refused.json()["error_details"] == {"coupon_code": ["coupon_not_found"]}

    redeemed = await _redeem(client, world, "welcome")
    assert redeemed.status_code == 200, redeemed.text
    applied = redeemed.json()["applied_coupon"]
    assert (applied["coupon_code"], applied["amount_cents"], applied["status"]) == (
        "welcome",
        1500,
        "active",
    )
    async with sessions() as session:
        rows = (
            await session.execute(
                select(AppliedCoupon.customer_id, Customer.external_id).join(
                    Customer, Customer.id == AppliedCoupon.customer_id
                )
            )
        ).all()
    assert [(str(customer_id), external) for customer_id, external in rows] == [
        (world.a["lago_id"], "cust-a")
    ]
    # Already applied (the coupon is reusable, but not twice at once from the portal).
    again = await _redeem(client, world, "welcome")
    assert again.json()["error_details"] == {"coupon_code": ["coupon_already_applied"]}

    listed = await client.get("/api/v1/portal/coupons", headers=world.headers)
    assert [r["coupon_code"] for r in listed.json()["applied_coupons"]] == ["welcome"]
    assert listed.json()["meta"]["total_count"] == 1
    # B applied through the API: not in A's list.
    body = {"external_customer_id": "cust-b", "coupon_code": "welcome"}
    response = await client.post(
        "/api/v1/applied_coupons", json={"applied_coupon": body}, headers=tenant_a.headers
    )
    assert response.status_code == 200
    listed = await client.get("/api/v1/portal/coupons", headers=world.headers)
    assert listed.json()["meta"]["total_count"] == 1
    for hidden in ("lago_customer_id", "cust-b", world.b["lago_id"], str(tenant_a.organization_id)):
        assert hidden not in _text(listed)


async def test_coupon_redemption_refusals(
    client: httpx.AsyncClient,
    world: World,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _coupon(client, tenant_a, "once-only", reusable=False)
    await _coupon(
        client,
        tenant_a,
        "bygone",
        expiration="time_limit",
        expiration_at="2099-01-01T00:00:00Z",
    )
    async with transaction(sessions) as session:  # its time has come since
        await session.execute(
            update(Coupon)
            .where(Coupon.code == "bygone")
            .values(expiration_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    await _coupon(client, tenant_a, "euros", amount_currency="EUR")
    assert (await _redeem(client, world, "once-only")).status_code == 200
    cases = {
        "nothing-like-it": "coupon_not_found",
        "once-only": "coupon_already_applied",
        "euros": "currencies_does_not_match",
    }
    for code, expected in cases.items():
        response = await _redeem(client, world, code)
        assert response.status_code == 422, code
        assert response.json()["error_details"] == {"coupon_code": [expected]}, code
    expired = await _redeem(client, world, "bygone")
    assert expired.status_code == 422
    assert expired.json()["error_details"] == {"coupon_code": ["coupon_is_expired"]}
    empty = await client.post(
        "/api/v1/portal/coupons",
        json={"applied_coupon": {"coupon_code": ""}},
        headers=world.headers,
    )
    assert empty.status_code == 422
