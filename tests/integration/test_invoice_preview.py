"""POST /api/v1/invoices/preview: the next invoice of a plan or of subscriptions, unsaved.

Plans are monthly, calendar billing unless said, customer in UTC. A subscription starting
on 11 March is billed 21 of March's 31 days for its first (calendar) period.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bxb.models import Invoice
from tests.integration.test_invoices import Sessions
from tests.integration.test_one_off_invoices import ok
from tests.support.auth import Tenant

START = "2026-03-11T00:00:00Z"


async def setup(client: httpx.AsyncClient, tenant: Tenant, **customer: Any) -> str:
    """Plans "advance" ($30.00 in advance) and "arrears" ($10.00 in arrears, a usage charge
    at $0.01 per call); an organization tax of 10 %. Returns the metric's id."""
    tax = {"name": "Tax", "code": "org_tax", "rate": "10", "applied_to_organization": True}
    await ok(client, tenant, "/api/v1/taxes", {"tax": tax})
    metric = {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
    metric_id = (await ok(client, tenant, "/api/v1/billable_metrics", {"billable_metric": metric}))[
        "billable_metric"
    ]["lago_id"]
    for code, amount, advance in (("advance", 3000, True), ("arrears", 1000, False)):
        plan: dict[str, Any] = {
            "name": code.title(),
            "code": code,
            "interval": "monthly",
            "amount_cents": amount,
            "amount_currency": "USD",
            "pay_in_advance": advance,
        }
        if not advance:
            plan["charges"] = [
                {
                    "billable_metric_id": metric_id,
                    "charge_model": "standard",
                    "properties": {"amount": "0.01"},
                }
            ]
        await ok(client, tenant, "/api/v1/plans", {"plan": plan})
    body = {"external_id": "cus_1", "name": "Acme", "currency": "USD"} | customer
    await ok(client, tenant, "/api/v1/customers", {"customer": body})
    return str(metric_id)


async def preview(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
) -> httpx.Response:
    return await client.post("/api/v1/invoices/preview", json=body, headers=tenant.headers)


async def test_new_plan_in_advance_bills_the_rest_of_the_first_period(
    client: httpx.AsyncClient, sessions: Sessions, tenant_a: Tenant
) -> None:
    await setup(client, tenant_a)
    response = await preview(
        client,
        tenant_a,
        {"customer": {"external_id": "cus_1"}, "plan_code": "advance", "subscription_at": START},
    )

    assert response.status_code == 200, response.text
    invoice = response.json()["invoice"]
    assert (invoice["number"], invoice["status"]) == ("", "draft")
    assert invoice["issuing_date"] == "2026-03-11"
    (fee,) = invoice["fees"]
    assert fee["lago_id"] is None
    assert (fee["amount_cents"], fee["taxes_amount_cents"]) == (2032, 203)  # 3000 × 21/31
    assert (fee["from_date"], fee["to_date"]) == (START, "2026-04-01T00:00:00Z")
    assert fee["amount_details"] == {"plan_amount_cents": 3000, "days": 21, "full_days": 31}
    assert fee["item"]["type"] == "subscription"
    assert fee["pay_in_advance"] is True
    assert (invoice["fees_amount_cents"], invoice["total_amount_cents"]) == (2032, 2235)
    assert invoice["customer"]["external_id"] == "cus_1"
    (subscription,) = invoice["subscriptions"]
    assert subscription["plan_code"] == "advance"
    assert [t["tax_code"] for t in invoice["applied_taxes"]] == ["org_tax"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 0


async def test_new_plan_in_arrears_is_billed_at_the_first_period_end(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await setup(client, tenant_a)
    body = {"customer": {"external_id": "cus_1"}, "plan_code": "arrears", "subscription_at": START}
    invoice = (await preview(client, tenant_a, body)).json()["invoice"]
    assert invoice["issuing_date"] == "2026-04-01"
    assert [f["amount_cents"] for f in invoice["fees"]] == [677]  # 1000 × 21/31
    assert invoice["total_amount_cents"] == 745


async def test_anniversary_and_coupons(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    await setup(client, tenant_a)
    coupon = {
        "name": "Five off",
        "code": "five",
        "coupon_type": "fixed_amount",
        "amount_cents": 500,
        "amount_currency": "USD",
        "frequency": "once",
        "expiration": "no_expiration",
    }
    await ok(client, tenant_a, "/api/v1/coupons", {"coupon": coupon})
    body = {
        "customer": {"external_id": "cus_1"},
        "plan_code": "advance",
        "subscription_at": START,
        "billing_time": "anniversary",
        "coupons": [
            {"code": "five"},
            {"code": "inline", "coupon_type": "percentage", "percentage_rate": 10},
        ],
    }
    invoice = (await preview(client, tenant_a, body)).json()["invoice"]
    # 30.00 - 5.00 = 25.00, then 10 % off: 22.50; tax 2.25.
    assert invoice["fees_amount_cents"] == 3000
    assert invoice["coupons_amount_cents"] == 750
    assert (invoice["taxes_amount_cents"], invoice["total_amount_cents"]) == (225, 2475)
    assert invoice["fees"][0]["to_date"] == "2026-04-11T00:00:00Z"


async def test_a_coupon_for_other_plans_and_a_trial_leave_nothing_to_bill(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await setup(client, tenant_a)
    for code, limits in (
        ("arrears_only", {"plan_codes": ["arrears"]}),
        ("calls_only", {"billable_metric_codes": ["calls"]}),
    ):
        coupon = {
            "name": code,
            "code": code,
            "coupon_type": "percentage",
            "percentage_rate": "50",
            "frequency": "once",
            "expiration": "no_expiration",
            "applies_to": limits,
        }
        await ok(client, tenant_a, "/api/v1/coupons", {"coupon": coupon})
    body = {
        "customer": {"external_id": "cus_1"},
        "plan_code": "advance",
        "subscription_at": START,
        "coupons": [{"code": "arrears_only"}, {"code": "calls_only"}],
    }
    invoice = (await preview(client, tenant_a, body)).json()["invoice"]
    assert (invoice["coupons_amount_cents"], invoice["total_amount_cents"]) == (0, 2235)

    trial = {
        "name": "Trial",
        "code": "trial",
        "interval": "monthly",
        "amount_cents": 3000,
        "amount_currency": "USD",
        "pay_in_advance": True,
        "trial_period": 40,
    }
    await ok(client, tenant_a, "/api/v1/plans", {"plan": trial})
    body = {"customer": {"external_id": "cus_1"}, "plan_code": "trial", "subscription_at": START}
    invoice = (await preview(client, tenant_a, body)).json()["invoice"]
    assert (invoice["fees"], invoice["total_amount_cents"]) == ([], 0)


async def test_customer_coupons_apply_when_none_are_named(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await setup(client, tenant_a)
    coupon = {
        "name": "Half",
        "code": "half",
        "coupon_type": "percentage",
        "percentage_rate": "50",
        "frequency": "forever",
        "expiration": "no_expiration",
    }
    await ok(client, tenant_a, "/api/v1/coupons", {"coupon": coupon})
    applied = {"external_customer_id": "cus_1", "coupon_code": "half"}
    await ok(client, tenant_a, "/api/v1/applied_coupons", {"applied_coupon": applied})
    body = {"customer": {"external_id": "cus_1"}, "plan_code": "advance", "subscription_at": START}
    invoice = (await preview(client, tenant_a, body)).json()["invoice"]
    assert (invoice["coupons_amount_cents"], invoice["total_amount_cents"]) == (1016, 1118)


async def test_unknown_customer_is_described_inline(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await setup(client, tenant_a)
    body = {
        "customer": {"name": "Prospect", "timezone": "Pacific/Auckland", "currency": "USD"},
        "plan_code": "advance",
        "subscription_at": START,
        "billing_time": "anniversary",
    }
    invoice = (await preview(client, tenant_a, body)).json()["invoice"]
    assert invoice["customer"]["name"] == "Prospect"
    assert invoice["issuing_date"] == "2026-03-11"  # 13:00 in Auckland
    assert invoice["total_amount_cents"] == 3300


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({"customer": {"external_id": "cus_1"}, "plan_code": "nope"}, 404, "plan_not_found"),
        ({"customer": {"external_id": "cus_1"}}, 422, {"plan_code": ["value_is_mandatory"]}),
        (
            {"customer": {"external_id": "ghost"}, "subscriptions": {"external_ids": ["s"]}},
            404,
            "customer_not_found",
        ),
        (
            {"customer": {"external_id": "cus_1"}, "subscriptions": {"external_ids": ["s"]}},
            404,
            "subscription_not_found",
        ),
        (
            {
                "customer": {"external_id": "cus_1"},
                "plan_code": "advance",
                "coupons": [{"code": "x"}],
            },
            404,
            "coupon_not_found",
        ),
        (
            {
                "customer": {"external_id": "cus_1"},
                "plan_code": "advance",
                "coupons": [{"code": "x", "coupon_type": "fixed_amount"}],
            },
            422,
            {"amount_cents": ["value_is_mandatory"], "amount_currency": ["value_is_mandatory"]},
        ),
        (
            {"customer": {"currency": "EUR"}, "plan_code": "advance"},
            422,
            {"currency": ["currencies_does_not_match"]},
        ),
        ({"plan_code": "advance"}, 422, {"customer": ["value_is_mandatory"]}),
        (
            {"customer": {"external_id": "cus_1"}, "plan_code": "advance", "billing_time": "x"},
            422,
            {"billing_time": ["value_is_invalid"]},
        ),
        (
            {
                "customer": {"external_id": "cus_1"},
                "plan_code": "advance",
                "subscription_at": "2026-03-11T00:00:00",
            },
            422,
            {"subscription_at": ["invalid_date"]},
        ),
    ],
)
async def test_bad_previews(
    client: httpx.AsyncClient, tenant_a: Tenant, body: dict[str, Any], status: int, expected: Any
) -> None:
    await setup(client, tenant_a)
    response = await preview(client, tenant_a, body)
    assert response.status_code == status, response.text
    if isinstance(expected, str):
        assert response.json()["code"] == expected
    else:
        assert response.json()["error_details"] == expected


async def test_existing_subscription_previews_its_period_end_invoice(
    temporal_client: httpx.AsyncClient, worker: str, tenant_a: Tenant
) -> None:
    client = temporal_client
    clock = await ok(
        client, tenant_a, "/api/v1/test_clocks", {"test_clock": {"name": "c", "frozen_time": START}}
    )
    await setup(client, tenant_a, test_clock_id=clock["test_clock"]["lago_id"])
    for external_id, plan in (("sub_arrears", "arrears"), ("sub_advance", "advance")):
        subscription = {
            "external_customer_id": "cus_1",
            "plan_code": plan,
            "external_id": external_id,
        }
        await ok(client, tenant_a, "/api/v1/subscriptions", {"subscription": subscription})
    for n in range(3):
        event = {
            "transaction_id": f"tx_{n}",
            "external_subscription_id": "sub_arrears",
            "code": "calls",
        }
        await ok(client, tenant_a, "/api/v1/events", {"event": event})

    body = {
        "customer": {"external_id": "cus_1"},
        "subscriptions": {"external_ids": ["sub_arrears", "sub_advance"]},
    }
    response = await preview(client, tenant_a, body)

    assert response.status_code == 200, response.text
    invoice = response.json()["invoice"]
    assert invoice["issuing_date"] == "2026-04-01"
    fees = [(f["item"]["type"], f["amount_cents"], f["from_date"]) for f in invoice["fees"]]
    assert fees == [
        ("subscription", 677, START),  # arrears: March 11-31
        ("charge", 3, START),  # 3 calls at $0.01
        ("subscription", 3000, "2026-04-01T00:00:00Z"),  # advance: all of April
    ]
    assert invoice["fees"][1]["units"] == "3"
    assert [f["external_subscription_id"] for f in invoice["fees"]] == [
        "sub_arrears",
        "sub_arrears",
        "sub_advance",
    ]
    assert invoice["fees_amount_cents"] == 3680
    assert invoice["total_amount_cents"] == 4048
    assert sorted(s["external_id"] for s in invoice["subscriptions"]) == [
        "sub_advance",
        "sub_arrears",
    ]

    unsupported = await preview(
        client,
        tenant_a,
        {
            "customer": {"external_id": "cus_1"},
            "subscriptions": {"external_ids": ["sub_arrears"], "plan_code": "advance"},
        },
    )
    assert unsupported.status_code == 422
    assert unsupported.json()["error_details"] == {"subscriptions": ["preview_not_supported"]}
