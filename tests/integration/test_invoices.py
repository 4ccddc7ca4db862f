"""/api/v1/invoices: Lago's invoice object, list filters, metadata, isolation.

Invoices are inserted as rows (the helpers below are shared by the other invoice tests):
the subscription invoices that workflows write have the same shape.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import (
    BillableMetric,
    Charge,
    ChargeFilter,
    Customer,
    Fee,
    Invoice,
    Plan,
    Subscription,
    Tax,
)
from tests.support.auth import Tenant

Sessions = async_sessionmaker[AsyncSession]
PERIOD_START = datetime(2026, 3, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 4, 1, tzinfo=UTC)


async def insert_customer(
    sessions: Sessions, tenant: Tenant, external_id: str = "cus_1", **fields: Any
) -> uuid.UUID:
    async with transaction(sessions) as session:
        customer = Customer(
            organization_id=tenant.organization_id,
            external_id=external_id,
            sequential_id=fields.pop("sequential_id", 1),
            currency=fields.pop("currency", "USD"),
            metadata_=[],
            **fields,
        )
        session.add(customer)
        await session.flush()
        return customer.id


async def insert_invoice(
    sessions: Sessions,
    tenant: Tenant,
    customer_id: uuid.UUID,
    *,
    fees: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> uuid.UUID:
    """A finalized one-off-like invoice; its amounts are given, not computed."""
    values: dict[str, Any] = {
        "invoice_type": "one_off",
        "kind": "one_off",
        "status": "finalized",
        "payment_status": "pending",
        "currency": "USD",
        "issuing_date": date(2026, 4, 1),
        "metadata_": [],
        "applied_taxes": [],
    }
    values |= fields
    async with transaction(sessions) as session:
        invoice = Invoice(organization_id=tenant.organization_id, customer_id=customer_id, **values)
        for position, fee in enumerate(fees or []):
            amount = fee["amount_cents"]
            invoice.fees.append(
                Fee(
                    organization_id=tenant.organization_id,
                    position=position,
                    amount_currency=values["currency"],
                    precise_amount_cents=Decimal(amount),
                    **fee,
                )
            )
        session.add(invoice)
        await session.flush()
        return invoice.id


class Scenario:
    """A subscription invoice: $100.00 plan fee + $25.50 of API calls, a $5.50 coupon,
    20 % VAT on the rest: 125.50 - 5.50 = 120.00, tax 24.00, total 144.00."""

    def __init__(
        self,
        invoice_id: uuid.UUID,
        subscription_id: uuid.UUID,
        charge_id: uuid.UUID,
        plan_id: uuid.UUID,
    ) -> None:
        self.invoice_id = invoice_id
        self.subscription_id = subscription_id
        self.charge_id = charge_id
        self.plan_id = plan_id


async def subscription_scenario(
    sessions: Sessions, tenant: Tenant, customer_id: uuid.UUID, **fields: Any
) -> Scenario:
    org = tenant.organization_id
    async with transaction(sessions) as session:
        plan = Plan(
            organization_id=org,
            code="pro",
            name="Pro",
            interval="monthly",
            amount_cents=10000,
            amount_currency="USD",
            pay_in_advance=True,
        )
        metric = BillableMetric(
            organization_id=org, code="api_calls", name="API calls", aggregation_type="count_agg"
        )
        session.add_all([plan, metric])
        await session.flush()
        charge = Charge(
            organization_id=org,
            plan_id=plan.id,
            billable_metric_id=metric.id,
            charge_model="standard",
            properties={"amount": "0.01"},
        )
        session.add(charge)
        tax = Tax(organization_id=org, code="vat", name="VAT", rate=Decimal(20))
        session.add(tax)
        await session.flush()
        charge_filter = ChargeFilter(
            charge_id=charge.id, invoice_display_name="EU calls", values={"region": ["eu"]}
        )
        session.add(charge_filter)
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        subscription = Subscription(
            organization_id=org,
            external_id="sub_1",
            customer_id=customer_id,
            external_customer_id=customer.external_id,
            plan_id=plan.id,
            plan_code="pro",
            plan_amount_cents=10000,
            plan_amount_currency="USD",
            status="active",
            billing_time="calendar",
            subscription_at=PERIOD_START,
            started_at=PERIOD_START,
            workflow_id="wf-sub_1",
        )
        session.add(subscription)
        await session.flush()
        ids = (subscription.id, charge.id, charge_filter.id, plan.id)
    subscription_id, charge_id, filter_id, plan_id = ids
    values = {
        "invoice_type": "subscription",
        "kind": "period_end",
        "subscription_id": subscription_id,
        "period_start": PERIOD_START,
        "period_end": PERIOD_END,
        "sequential_id": 7,
        "number": "ORG-000007",
        "fees_amount_cents": 12550,
        "coupons_amount_cents": 550,
        "taxes_amount_cents": 2400,
        "total_amount_cents": 14400,
        "net_payment_term": 30,
        "payment_due_date": date(2026, 5, 1),
        "applied_taxes": [
            {"tax_code": "vat", "tax_name": "VAT", "tax_rate": 20.0, "amount_cents": 2400}
        ],
    } | fields
    common = {"subscription_id": subscription_id, "from_datetime": PERIOD_START}
    invoice_id = await insert_invoice(
        sessions,
        tenant,
        customer_id,
        fees=[
            {
                **common,
                "fee_type": "subscription",
                "description": "Pro",
                "item_code": "pro",
                "amount_cents": 10000,
                "coupons_amount_cents": 438,
                "taxes_amount_cents": 1912,
                "taxes_rate": Decimal(20),
                "units": Decimal(1),
                "to_datetime": PERIOD_END,
                "amount_details": {"plan_amount_cents": 10000, "days": 31, "full_days": 31},
            },
            {
                **common,
                "charge_id": charge_id,
                "charge_filter_id": filter_id,
                "fee_type": "charge",
                "description": "API calls \u2014 EU calls",
                "item_code": "api_calls",
                "amount_cents": 2550,
                "coupons_amount_cents": 112,
                "taxes_amount_cents": 488,
                "taxes_rate": Decimal(20),
                "units": Decimal(2550),
                "events_count": 2550,
                "to_datetime": PERIOD_END,
            },
        ],
        **values,
    )
    return Scenario(invoice_id, subscription_id, charge_id, plan_id)


async def get_ok(client: httpx.AsyncClient, tenant: Tenant, path: str) -> dict[str, Any]:
    response = await client.get(path, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_invoice_object_in_lagos_shape(
    client: httpx.AsyncClient, sessions: Sessions, tenant_a: Tenant
) -> None:
    customer_id = await insert_customer(sessions, tenant_a, name="Acme", email="a@acme.test")
    scenario = await subscription_scenario(sessions, tenant_a, customer_id)

    invoice = (await get_ok(client, tenant_a, f"/api/v1/invoices/{scenario.invoice_id}"))["invoice"]

    assert invoice["lago_id"] == str(scenario.invoice_id)
    assert (invoice["number"], invoice["sequential_id"]) == ("ORG-000007", 7)
    assert (invoice["status"], invoice["payment_status"]) == ("finalized", "pending")
    assert (invoice["invoice_type"], invoice["currency"]) == ("subscription", "USD")
    assert (invoice["issuing_date"], invoice["payment_due_date"]) == ("2026-04-01", "2026-05-01")
    assert invoice["net_payment_term"] == 30
    assert invoice["payment_overdue"] is False
    totals = {k: v for k, v in invoice.items() if k.endswith("_amount_cents") and v is not None}
    assert totals == {
        "fees_amount_cents": 12550,
        "coupons_amount_cents": 550,
        "credit_notes_amount_cents": 0,
        "sub_total_excluding_taxes_amount_cents": 12000,
        "taxes_amount_cents": 2400,
        "sub_total_including_taxes_amount_cents": 14400,
        "prepaid_credit_amount_cents": 0,
        "progressive_billing_credit_amount_cents": 0,
        "total_amount_cents": 14400,
        "total_paid_amount_cents": 0,
        "total_due_amount_cents": 14400,
        "total_offsetted_credit_note_amount_cents": 0,
    }
    assert invoice["version_number"] == 4
    assert invoice["customer"]["external_id"] == "cus_1"
    assert invoice["customer"]["name"] == "Acme"
    assert [s["external_id"] for s in invoice["subscriptions"]] == ["sub_1"]
    assert invoice["billing_periods"] == [
        {
            "lago_subscription_id": str(scenario.subscription_id),
            "external_subscription_id": "sub_1",
            "lago_plan_id": str(scenario.plan_id),
            "subscription_from_datetime": "2026-03-01T00:00:00Z",
            "subscription_to_datetime": "2026-04-01T00:00:00Z",
            "charges_from_datetime": "2026-03-01T00:00:00Z",
            "charges_to_datetime": "2026-04-01T00:00:00Z",
            "invoicing_reason": "subscription_periodic",
        }
    ]
    (tax,) = invoice["applied_taxes"]
    assert tax["tax_code"] == "vat"
    assert (tax["tax_rate"], tax["amount_cents"], tax["fees_amount_cents"]) == (20.0, 2400, 12000)
    assert tax["lago_tax_id"] is not None
    assert invoice["credits"] == []
    assert invoice["applied_usage_thresholds"] == []

    base, usage = invoice["fees"]
    assert base["item"] | {"lago_item_id": None} == {
        "type": "subscription",
        "code": "pro",
        "name": "Pro",
        "invoice_display_name": "Pro",
        "filter_invoice_display_name": None,
        "filters": None,
        "lago_item_id": None,
        "item_type": "Subscription",
        "grouped_by": {},
    }
    assert (base["amount_cents"], base["taxes_amount_cents"], base["total_amount_cents"]) == (
        10000,
        1912,
        11912,
    )
    assert base["sub_total_excluding_taxes_amount_cents"] == 9562
    assert (base["precise_amount"], base["units"], base["pay_in_advance"]) == ("100", "1", True)
    assert base["lago_subscription_id"] == str(scenario.subscription_id)
    assert base["external_subscription_id"] == "sub_1"
    assert base["lago_invoice_id"] == str(scenario.invoice_id)
    assert base["from_date"] == "2026-03-01T00:00:00Z"
    assert usage["lago_charge_id"] == str(scenario.charge_id)
    assert usage["item"]["type"] == "charge"
    assert (usage["item"]["code"], usage["item"]["name"]) == ("api_calls", "API calls")
    assert usage["item"]["item_type"] == "BillableMetric"
    assert usage["item"]["filter_invoice_display_name"] == "EU calls"
    assert usage["item"]["filters"] == {"region": ["eu"]}
    assert (usage["units"], usage["events_count"], usage["precise_unit_amount"]) == (
        "2550",
        2550,
        "0.01",
    )
    assert usage["pay_in_advance"] is False


async def test_unknown_bad_and_foreign_invoices_are_not_found(
    client: httpx.AsyncClient, sessions: Sessions, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, number="A-1")
    for tenant, lago_id in (
        (tenant_a, str(uuid.uuid4())),
        (tenant_a, "not-a-uuid"),
        (tenant_b, str(invoice_id)),
    ):
        for method, path in (
            ("GET", f"/api/v1/invoices/{lago_id}"),
            ("GET", f"/api/v1/invoices/{lago_id}/download"),
            ("POST", f"/api/v1/invoices/{lago_id}/download"),
        ):
            response = await client.request(method, path, headers=tenant.headers)
            assert response.status_code == 404, (method, path)
            assert response.json()["code"] == "invoice_not_found"
        response = await client.put(
            f"/api/v1/invoices/{lago_id}", json={"invoice": {}}, headers=tenant.headers
        )
        assert response.json()["code"] == "invoice_not_found"
    listed = await get_ok(client, tenant_b, "/api/v1/invoices")
    assert listed["invoices"] == []
    assert (await client.get("/api/v1/invoices")).status_code == 401


async def _list(client: httpx.AsyncClient, tenant: Tenant, query: str = "") -> list[str]:
    body = await get_ok(client, tenant, f"/api/v1/invoices?{query}")
    return [invoice["number"] for invoice in body["invoices"]]


@pytest.fixture
async def listed(sessions: Sessions, tenant_a: Tenant) -> None:
    """Four invoices of two customers, inserted oldest first."""
    acme = await insert_customer(sessions, tenant_a, "acme", name="Acme Corp", email="x@acme.io")
    beta = await insert_customer(
        sessions, tenant_a, "beta", sequential_id=2, name="Beta", email="y@beta.io", currency="EUR"
    )
    await insert_invoice(
        sessions, tenant_a, acme, number="INV-1", total_amount_cents=1000,
        issuing_date=date(2026, 1, 10), metadata_=[{"lago_id": "m1", "key": "po", "value": "42",
                                                    "created_at": "2026-01-10T00:00:00Z"}],
    )  # fmt: skip
    await insert_invoice(
        sessions, tenant_a, acme, number="INV-2", total_amount_cents=5000,
        issuing_date=date(2026, 2, 10), payment_status="succeeded", invoice_type="subscription",
    )  # fmt: skip
    await insert_invoice(
        sessions, tenant_a, beta, number="INV-3", total_amount_cents=9000, currency="EUR",
        issuing_date=date(2026, 3, 10), payment_status="failed", payment_overdue=True,
    )  # fmt: skip
    await insert_invoice(
        sessions, tenant_a, beta, number=None, status="draft", total_amount_cents=0,
        currency="EUR", issuing_date=date(2026, 4, 10),
    )  # fmt: skip


@pytest.mark.usefixtures("listed")
async def test_list_filters_like_lago(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    assert await _list(client, tenant_a) == ["", "INV-3", "INV-2", "INV-1"]
    assert await _list(client, tenant_a, "external_customer_id=acme") == ["INV-2", "INV-1"]
    assert await _list(client, tenant_a, "statuses[]=draft") == [""]
    assert await _list(client, tenant_a, "status=finalized&external_customer_id=beta") == ["INV-3"]
    assert await _list(
        client, tenant_a, "payment_statuses[]=succeeded&payment_statuses[]=failed"
    ) == [
        "INV-3",
        "INV-2",
    ]
    assert await _list(client, tenant_a, "payment_status=pending") == ["", "INV-1"]
    assert await _list(client, tenant_a, "payment_overdue=true") == ["INV-3"]
    assert await _list(client, tenant_a, "invoice_type=subscription") == ["INV-2"]
    assert await _list(
        client, tenant_a, "issuing_date_from=2026-02-10&issuing_date_to=2026-03-10"
    ) == ["INV-3", "INV-2"]
    assert await _list(client, tenant_a, "currency=EUR") == ["", "INV-3"]
    assert await _list(client, tenant_a, "amount_from=1000&amount_to=5000") == ["INV-2", "INV-1"]
    assert await _list(client, tenant_a, "search_term=inv-2") == ["INV-2"]
    assert await _list(client, tenant_a, "search_term=beta.io") == ["", "INV-3"]
    assert await _list(client, tenant_a, "search_term=ACME%20corp") == ["INV-2", "INV-1"]
    assert await _list(client, tenant_a, "search_term=%25") == []
    assert await _list(client, tenant_a, "metadata[po]=42") == ["INV-1"]
    assert await _list(client, tenant_a, "metadata[po]=") == ["", "INV-3", "INV-2"]

    page = await get_ok(client, tenant_a, "/api/v1/invoices?per_page=3&page=2")
    assert [i["number"] for i in page["invoices"]] == ["INV-1"]
    assert page["meta"] == {
        "current_page": 2,
        "next_page": None,
        "prev_page": 1,
        "total_pages": 2,
        "total_count": 4,
    }


@pytest.mark.usefixtures("listed")
async def test_search_by_lago_id(
    client: httpx.AsyncClient, sessions: Sessions, tenant_a: Tenant
) -> None:
    body = await get_ok(client, tenant_a, "/api/v1/invoices?external_customer_id=acme")
    first = body["invoices"][0]["lago_id"]
    assert await _list(client, tenant_a, f"search_term={first}") == ["INV-2"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=paid", "status"),
        ("statuses[]=paid", "0"),  # Lago names list items by their index
        ("payment_status=late", "payment_status"),
        ("payment_overdue=maybe", "payment_overdue"),
        ("invoice_type=gift", "invoice_type"),
        ("issuing_date_from=yesterday", "issuing_date_from"),
        ("issuing_date_to=2026-13-01", "issuing_date_to"),
        ("currency=XYZ", "currency"),
        ("amount_from=ten", "amount_from"),
        ("amount_to=1.5", "amount_to"),
        ("amount_to=99999999999999999999", "amount_to"),
        ("amount_from=-1", "amount_from"),
        ("per_page=0", "per_page"),
    ],
)
async def test_bad_filters_are_422(
    client: httpx.AsyncClient, tenant_a: Tenant, query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/invoices?{query}", headers=tenant_a.headers)
    assert response.status_code == 422, response.text
    assert field in response.json()["error_details"]


async def test_update_metadata_keeps_ids_of_kept_entries(
    client: httpx.AsyncClient, sessions: Sessions, tenant_a: Tenant
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, number="A-1")
    path = f"/api/v1/invoices/{invoice_id}"

    async def put(body: Any) -> httpx.Response:
        return await client.put(path, json={"invoice": body}, headers=tenant_a.headers)

    first = await put({"metadata": [{"key": "po", "value": "1"}, {"key": "ref", "value": "x"}]})
    assert first.status_code == 200, first.text
    po, ref = first.json()["invoice"]["metadata"]
    assert (po["key"], po["value"], ref["key"]) == ("po", "1", "ref")
    assert set(po) == {"lago_id", "key", "value", "created_at"}

    second = await put({"metadata": [{"id": po["lago_id"], "key": "po", "value": "2"}]})
    (kept,) = second.json()["invoice"]["metadata"]
    assert (kept["lago_id"], kept["value"]) == (po["lago_id"], "2")
    unchanged = await put({"payment_status": "succeeded"})  # not this router's business
    assert unchanged.json()["invoice"]["metadata"] == [kept]
    assert unchanged.json()["invoice"]["payment_status"] == "pending"
    fetched = await get_ok(client, tenant_a, path)
    assert fetched["invoice"]["metadata"] == [kept]
    cleared = await put({"metadata": []})
    assert cleared.json()["invoice"]["metadata"] == []


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (
            {"metadata": [{"key": "po", "value": "x" * 141}]},
            "metadata.0.value",
            "value_is_too_long",
        ),
        ({"metadata": [{"key": "", "value": "x"}]}, "metadata.0.key", "value_is_invalid"),
        ({"metadata": [{"value": "x"}]}, "metadata.0.key", "value_is_mandatory"),
        (
            {"metadata": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]},
            "metadata",
            "value_already_exist",
        ),
        ({"metadata": "po"}, "metadata", "invalid_type"),
        (
            {"metadata": [{"key": f"k{n}", "value": "v"} for n in range(51)]},
            "metadata",
            "invalid_count",
        ),
    ],
)
async def test_bad_metadata_is_422(
    client: httpx.AsyncClient,
    sessions: Sessions,
    tenant_a: Tenant,
    body: dict[str, Any],
    field: str,
    code: str,
) -> None:
    customer_id = await insert_customer(sessions, tenant_a)
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id, number="A-1")
    response = await client.put(
        f"/api/v1/invoices/{invoice_id}", json={"invoice": body}, headers=tenant_a.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["error_details"] == {field: [code]}


async def test_the_list_shows_a_tax_base_summed_without_loading_the_fees(
    client: httpx.AsyncClient, sessions: Sessions, tenant_a: Tenant
) -> None:
    """An applied tax stored without its base (subscription invoices) shows the taxed fees
    after coupons: the list sums them in SQL, the invoice's page from its fees; both agree."""
    customer_id = await insert_customer(sessions, tenant_a, name="Acme")
    scenario = await subscription_scenario(sessions, tenant_a, customer_id)
    untaxed = await insert_invoice(
        sessions,
        tenant_a,
        customer_id,
        fees=[
            {
                "fee_type": "add_on",
                "description": "Setup",
                "item_code": "setup",
                "amount_cents": 5000,
                "units": Decimal(1),
            }
        ],
        number="ORG-000008",
        sequential_id=8,
        fees_amount_cents=5000,
        total_amount_cents=5000,
        applied_taxes=[{"tax_code": "vat", "tax_name": "VAT", "tax_rate": 20.0, "amount_cents": 0}],
    )

    listed = (await get_ok(client, tenant_a, "/api/v1/invoices"))["invoices"]
    bases = {i["lago_id"]: [t["fees_amount_cents"] for t in i["applied_taxes"]] for i in listed}
    # 10,000 + 2,550 taxed at 20 %, less 438 + 112 of coupons; the add-on is not taxed.
    assert bases == {str(scenario.invoice_id): [12000], str(untaxed): [0]}
    assert all("fees" not in invoice for invoice in listed)
    shown = await get_ok(client, tenant_a, f"/api/v1/invoices/{scenario.invoice_id}")
    assert [t["fees_amount_cents"] for t in shown["invoice"]["applied_taxes"]] == [12000]
