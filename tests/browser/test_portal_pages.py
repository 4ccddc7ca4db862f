"""The customer portal pages at /portal: branding, invoices and PDFs, plan, wallet.

A customer's page shows its own invoices only, and its token opens nothing of another
customer, whatever the page is made to ask.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import Steps, WebStack


async def _ok(http: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    response = await http.request(method, path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def _customer_with_invoice(http: httpx.AsyncClient, external_id: str, units: int) -> str:
    customer = {"external_id": external_id, "name": external_id.title(), "currency": "USD"}
    await _ok(http, "POST", "/api/v1/customers", {"customer": customer})
    fees = [{"add_on_code": "setup", "units": units}]
    body = {"invoice": {"external_customer_id": external_id, "currency": "USD", "fees": fees}}
    invoice = (await _ok(http, "POST", "/api/v1/invoices", body))["invoice"]
    return str(invoice["number"])


async def test_a_customer_sees_its_own_invoices_under_the_organizations_brand(
    page: Page, web: WebStack, steps: Steps
) -> None:
    async with httpx.AsyncClient(base_url=web.url, headers=web.tenant.headers, timeout=60) as http:
        brand = {"organization": {"brand_color": "#0a7b5e"}}
        await _ok(http, "PUT", "/api/v1/organizations", brand)
        add_on = {"name": "Setup", "code": "setup", "amount_cents": 12345, "amount_currency": "USD"}
        await _ok(http, "POST", "/api/v1/add_ons", {"add_on": add_on})
        mine = await _customer_with_invoice(http, "acme", 2)
        theirs = await _customer_with_invoice(http, "globex", 3)
        url = (await _ok(http, "GET", "/api/v1/customers/acme/portal_url"))["customer"][
            "portal_url"
        ]
        globex = await _ok(http, "GET", "/api/v1/invoices?external_customer_id=globex")

    portal_path = url[url.index("/portal") :]
    await page.goto(web.url + portal_path)
    header = page.get_by_role("banner")
    await expect(header).to_contain_text("Org A")
    await expect(header).to_have_css("background-color", "rgb(10, 123, 94)")
    table = page.get_by_role("table", name="Invoices")
    await expect(table).to_contain_text(mine)
    await expect(table).to_contain_text("$246.90")  # 2 × $123.45, to the cent
    await expect(table).not_to_contain_text(theirs)
    # The token left the address bar (it is kept for this tab only).
    assert "token=" not in page.url
    await steps.shot("portal invoices")

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name=f"Download PDF of {mine}").click()
    download = await download_info.value
    pdf = await download.path()
    assert pdf is not None
    assert (await asyncio.to_thread(Path(pdf).read_bytes))[:5] == b"%PDF-"

    # Whatever the page is made to ask, the token admits this customer only.
    other_id = globex["invoices"][0]["lago_id"]
    status = await page.evaluate(
        """async (id) => {
            const token = sessionStorage.getItem("bxb-portal-token");
            const headers = {Authorization: `Bearer ${token}`};
            const r = await fetch(`/api/v1/portal/invoices/${id}`, {headers});
            return r.status;
        }""",
        other_id,
    )
    assert status == 404
    admin_status = await page.evaluate(
        """async () => {
            const token = sessionStorage.getItem("bxb-portal-token");
            const headers = {Authorization: `Bearer ${token}`};
            const r = await fetch("/api/v1/invoices", {headers});
            return r.status;
        }"""
    )
    assert admin_status == 401


async def test_an_expired_or_missing_portal_link_says_so(page: Page, web: WebStack) -> None:
    await page.goto(web.url + "/portal?token=not-a-token")
    await expect(page.get_by_role("heading", name="This link has expired")).to_be_visible()


async def test_a_customer_changes_plan_tops_up_and_cancels_from_its_pages(
    page: Page, web: WebStack, steps: Steps
) -> None:
    async with httpx.AsyncClient(base_url=web.url, headers=web.tenant.headers, timeout=60) as http:
        body = {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
        metric = await _ok(http, "POST", "/api/v1/billable_metrics", {"billable_metric": body})
        charge = {
            "billable_metric_id": metric["billable_metric"]["lago_id"],
            "charge_model": "standard",
            "properties": {"amount": "0.5"},
        }
        for code, amount in (("basic", 1000), ("pro", 3000)):
            plan = {
                "name": code.title(),
                "code": code,
                "interval": "monthly",
                "amount_cents": amount,
                "amount_currency": "USD",
                "charges": [charge],
            }
            await _ok(http, "POST", "/api/v1/plans", {"plan": plan})
        customer = {"external_id": "acme", "name": "Acme", "currency": "USD"}
        await _ok(http, "POST", "/api/v1/customers", {"customer": customer})
        sub = {"external_customer_id": "acme", "plan_code": "basic", "external_id": "acme-1"}
        await _ok(http, "POST", "/api/v1/subscriptions", {"subscription": sub})
        for n in range(3):
            event = {
                "transaction_id": f"c{n}",
                "external_subscription_id": "acme-1",
                "code": "calls",
            }
            await _ok(http, "POST", "/api/v1/events", {"event": event})
        wallet = {"external_customer_id": "acme", "rate_amount": "1", "currency": "USD"}
        await _ok(http, "POST", "/api/v1/wallets", {"wallet": wallet})
        url = (await _ok(http, "GET", "/api/v1/customers/acme/portal_url"))["customer"][
            "portal_url"
        ]

    await page.goto(web.url + url[url.index("/portal") :])
    await page.get_by_role("tab", name="usage").click()
    usage = page.get_by_role("table", name="Usage of acme-1")
    await expect(usage).to_contain_text("$1.50")  # 3 calls at $0.50
    await expect(page.get_by_role("figure", name="Usage by metric")).to_be_visible()
    await steps.shot("portal usage")

    await page.get_by_role("tab", name="plan").click()
    await page.get_by_label("New plan").select_option("pro")
    await page.get_by_role("button", name="Change plan").click()
    await expect(page.get_by_text("Plan: Pro")).to_be_visible(timeout=30_000)
    await page.get_by_role("button", name="Cancel subscription").click()
    await page.get_by_role("button", name="Confirm cancellation").click()
    await expect(page.get_by_text("Ends on")).to_be_visible(timeout=30_000)
    await steps.shot("portal plan changed and cancelled")

    await page.get_by_role("tab", name="wallet").click()
    await page.get_by_label("Credits to buy").fill("0")
    await page.get_by_role("button", name="Top up").click()
    await expect(page.get_by_role("alert")).to_contain_text("invalid_paid_credits")
    await page.get_by_label("Credits to buy").fill("15.5")
    await page.get_by_role("button", name="Top up").click()
    await expect(page.get_by_role("status")).to_contain_text("Top-up requested")
    await steps.shot("portal wallet top-up")

    async with httpx.AsyncClient(base_url=web.url, headers=web.tenant.headers, timeout=60) as http:
        subscription = (await _ok(http, "GET", "/api/v1/subscriptions/acme-1"))["subscription"]
        assert subscription["plan_code"] == "pro"
        assert subscription["ending_at"] is not None
        invoices = await _ok(http, "GET", "/api/v1/invoices?external_customer_id=acme")
        credit = [i for i in invoices["invoices"] if i["invoice_type"] == "credit"]
        assert [i["total_amount_cents"] for i in credit] == [1550]  # 15.5 credits at $1
