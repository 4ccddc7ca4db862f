"""An operator's month through the pages only (the API is used only to send events, as a
customer's application would).

Sign in; create a metric and a graduated plan; create a test clock, a customer on it and a
subscription; send events; advance the clock from its page; open the invoice and download
its PDF; issue a credit note; void the next invoice (which had used the credit: it comes
back); see MRR on the dashboard.

The clock starts on the first day of the current month (UTC), so the subscription's MRR
falls in the month the dashboard shows. The plan: $10.00 a month in arrears, and `units`
summed and priced graduated: 0-100 at $0.10, above at $0.05. 150 units in the first month
cost 100 × $0.10 + 50 × $0.05 = $12.50, and the invoice is $10.00 + $12.50 = $22.50.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import Steps, WebStack, sign_in


def _first_of_month(moment: datetime, months_later: int) -> datetime:
    month = moment.month - 1 + months_later
    return moment.replace(
        year=moment.year + month // 12, month=month % 12 + 1, day=1, hour=0, minute=0
    )


async def _advance(page: Page, to: datetime) -> None:
    clock = page.get_by_role("region", name="Test clock rehearsal")
    await clock.get_by_label("Advance to").fill(to.strftime("%Y-%m-%dT%H:%M"))
    await clock.get_by_role("button", name="Advance clock").click()
    await expect(clock.get_by_role("status")).to_contain_text("Advanced to", timeout=90_000)


async def test_an_operators_month_through_the_pages(
    page: Page, web: WebStack, steps: Steps
) -> None:
    start = _first_of_month(datetime.now(UTC).replace(second=0, microsecond=0), 0)
    second_month, third_month = _first_of_month(start, 1), _first_of_month(start, 2)
    await sign_in(page, web.url, web.email)
    mrr = page.get_by_role("region", name="MRR")
    await expect(mrr).to_contain_text("Nothing yet.")
    await steps.shot("dashboard before")

    # A metric, then a plan with a graduated charge on it.
    await page.get_by_role("link", name="Billable metrics").click()
    await page.get_by_role("button", name="New billable metric").click()
    await page.get_by_label("Name", exact=True).fill("Units")
    await page.get_by_label("Code", exact=True).fill("units")
    await page.get_by_label("Aggregation").select_option("sum_agg")
    await page.get_by_label("Field name").fill("units")
    await page.get_by_role("button", name="Create billable metric").click()
    await expect(page.get_by_role("table")).to_contain_text("units")
    await steps.shot("metric created")

    await page.get_by_role("link", name="Plans").click()
    await page.get_by_role("button", name="New plan").click()
    await page.get_by_label("Name", exact=True).fill("Growth")
    await page.get_by_label("Code", exact=True).fill("growth")
    await page.get_by_label("Base price").fill("10.00")
    await page.get_by_role("button", name="Add charge").click()
    await page.get_by_label("Billable metric").select_option(label="Units (units)")
    await page.get_by_label("Charge model").select_option("graduated")
    first = page.get_by_role("group", name="Tier 1")
    await first.get_by_label("From").fill("0")
    await first.get_by_label("To").fill("100")
    await first.get_by_label("Per unit").fill("0.10")
    await first.get_by_label("Flat fee").fill("0")
    await page.get_by_role("button", name="Add tier").click()
    second = page.get_by_role("group", name="Tier 2")
    await expect(second.get_by_label("From")).to_have_value("101")
    await second.get_by_label("Per unit").fill("0.05")
    await second.get_by_label("Flat fee").fill("0")
    await steps.shot("plan form")
    await page.get_by_role("button", name="Create plan").click()
    await expect(page.get_by_role("table", name="Plans")).to_contain_text("growth")

    # A test clock, a customer on it, and its subscription.
    await page.get_by_role("link", name="Test clocks").click()
    await page.get_by_role("button", name="New test clock").click()
    await page.get_by_label("Name", exact=True).fill("rehearsal")
    await page.get_by_label("Frozen time").fill(start.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_role("button", name="Create test clock").click()
    await expect(page.get_by_role("region", name="Test clock rehearsal")).to_be_visible()

    await page.get_by_role("link", name="Customers").click()
    await page.get_by_role("button", name="New customer").click()
    await page.get_by_label("External ID").fill("acme")
    await page.get_by_label("Name", exact=True).fill("Acme")
    await page.get_by_label("Currency").fill("USD")
    clock_option = page.get_by_label("Test clock").locator("option", has_text="rehearsal")
    await page.get_by_label("Test clock").select_option(await clock_option.get_attribute("value"))
    await page.get_by_role("button", name="Create customer").click()
    await expect(page.get_by_role("heading", name="Acme")).to_be_visible()
    await page.get_by_role("button", name="New subscription").click()
    await page.get_by_label("Plan").select_option("growth")
    await page.get_by_label("External subscription ID").fill("acme-growth")
    await page.get_by_role("button", name="Subscribe").click()
    await expect(page.get_by_text("acme-growth").first).to_be_visible()
    await steps.shot("customer subscribed")

    # The customer's application sends usage (at the clock's time: no timestamp).
    async with httpx.AsyncClient(base_url=web.url, headers=web.tenant.headers) as http:
        for n, units in enumerate((100, 50)):
            event = {
                "transaction_id": f"t{n}",
                "external_subscription_id": "acme-growth",
                "code": "units",
                "properties": {"units": units},
            }
            sent = await http.post("/api/v1/events", json={"event": event})
            assert sent.status_code == 200, sent.text

    # The month ends on the clock's page; the workflow bills it.
    await page.get_by_role("link", name="Test clocks").click()
    await _advance(page, second_month.replace(hour=1))
    await steps.shot("clock advanced")

    await page.get_by_role("link", name="Customers").click()
    await page.get_by_role("link", name="acme").first.click()
    invoices = page.get_by_role("table", name="Invoices")
    await expect(invoices).to_contain_text("$22.50")
    await invoices.get_by_role("link").first.click()
    # The customer's page also shows $22.50: wait for the invoice's own fee table.
    fees = page.get_by_role("table", name="Fees")
    await expect(fees).to_contain_text("$12.50")  # the graduated fee
    await expect(page.get_by_text("$22.50").first).to_be_visible()
    await steps.shot("invoice")

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download PDF").click()
    pdf = await (await download_info.value).path()
    assert pdf is not None
    assert (await asyncio.to_thread(Path(pdf).read_bytes))[:5] == b"%PDF-"

    # A credit note on the usage fee: $2.50 back to the customer's balance.
    await page.get_by_role("button", name="Issue credit note").click()
    credit = page.get_by_label("Amount to credit for", exact=False)
    await credit.last.fill("2.50")
    await steps.shot("credit note form")
    await page.get_by_role("button", name="Issue credit note").last.click()
    await expect(page.get_by_role("table", name="Credit notes")).to_contain_text("$2.50")
    await steps.shot("credit note issued")

    # The second month has no usage: its invoice is the $10.00 base fee less the $2.50
    # credit, $7.50. Voiding it gives the credit back.
    await page.get_by_role("link", name="Test clocks").click()
    await _advance(page, third_month.replace(hour=1))
    await page.get_by_role("link", name="Invoices").click()
    await expect(page.get_by_role("table", name="Invoices")).to_contain_text("$7.50")
    await page.get_by_role("row", name="$7.50").get_by_role("link").first.click()
    await page.get_by_role("button", name="Void").click()
    await page.get_by_role("button", name="Confirm void").click()
    await expect(page.get_by_text("voided").first).to_be_visible()
    await steps.shot("invoice voided")

    # The dashboard: the subscription's $10.00 a month is this month's MRR.
    await page.get_by_role("link", name="Dashboard").click()
    await expect(mrr).to_contain_text("$10.00")
    await steps.shot("dashboard after")

    async with httpx.AsyncClient(base_url=web.url, headers=web.tenant.headers) as http:
        listed = (await http.get("/api/v1/invoices?external_customer_id=acme")).json()
        statuses = sorted((i["total_amount_cents"], i["status"]) for i in listed["invoices"])
        assert statuses == [(750, "voided"), (2250, "finalized")]
        notes = (await http.get("/api/v1/credit_notes")).json()["credit_notes"]
        assert [(n["credit_amount_cents"], n["balance_amount_cents"]) for n in notes] == [
            (250, 250)
        ]
