"""A finance viewer sees no button that changes anything, and the API refuses the calls."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.governance.actor import Role
from tests.browser.conftest import Steps, WebStack, add_member, sign_in


async def test_a_finance_viewer_reads_but_changes_nothing(
    page: Page, web: WebStack, steps: Steps, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with httpx.AsyncClient(base_url=web.url, headers=web.tenant.headers, timeout=60) as http:
        created = await http.post(
            "/api/v1/customers", json={"customer": {"external_id": "acme", "name": "Acme"}}
        )
        assert created.status_code == 200
    viewer = await add_member(sessions, web.tenant, "fin@example.com", Role.FINANCE_VIEWER)
    await sign_in(page, web.url, viewer)

    await page.get_by_role("link", name="Customers").click()
    await expect(page.get_by_role("table", name="Customers")).to_contain_text("acme")
    await expect(page.get_by_role("button", name="New customer")).to_have_count(0)
    await steps.shot("customers as finance viewer")
    await page.get_by_role("link", name="Test clocks").click()
    await expect(page.get_by_role("heading", name="Test clocks")).to_be_visible()
    await expect(page.get_by_role("button", name="New test clock")).to_have_count(0)
    await page.get_by_role("link", name="Invoices").click()
    await expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    await expect(page.get_by_text("Loading…")).to_have_count(0)  # the list answered
    await steps.shot("invoices as finance viewer")

    # Made by hand with the viewer's own session and CSRF token, the calls are refused.
    statuses = await page.evaluate(
        """async () => {
            const csrf = document.cookie.split("; ").find(c => c.startsWith("bxb_csrf="))
                .split("=")[1];
            const headers = {"Content-Type": "application/json", "X-CSRF-Token": csrf};
            const post = (path, body) =>
                fetch(path, {method: "POST", headers, body: JSON.stringify(body)})
                .then(r => r.status);
            const clock = {test_clock: {name: "x", frozen_time: "2030-01-01T00:00:00Z"}};
            return [
                await post("/api/v1/customers", {customer: {external_id: "evil"}}),
                await post("/api/v1/test_clocks", clock),
                (await fetch("/api/v1/customers/acme", {method: "DELETE", headers})).status,
            ];
        }"""
    )
    assert statuses == [403, 403, 403]
    async with httpx.AsyncClient(base_url=web.url, headers=web.tenant.headers) as http:
        listed = (await http.get("/api/v1/customers")).json()["customers"]
        assert [c["external_id"] for c in listed] == ["acme"]
