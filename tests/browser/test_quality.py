"""The web app's qualities: what the first page costs, accessibility, the keyboard alone.

- The JavaScript sent for the first page (sign-in, dashboard, portal) is under 300 KB
  gzipped, and it is sent gzipped (the build's `.gz` copies, bxb/webapp).
- axe-core finds no serious or critical violation on the pages a member or a customer
  sees (`web/node_modules/axe-core`, a devDependency of web/).
- A member reaches the navigation, a page's "New customer" dialog and its form with the
  keyboard only; Escape closes a dialog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Locator, Page, Response, expect

from tests.browser.conftest import Steps, WebStack, sign_in

BUDGET = 300 * 1024
SERIOUS = ("serious", "critical")
AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"


async def _ok(http: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    response = await http.request(method, path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def _seed(web: WebStack) -> dict[str, str]:
    """A metric, a plan, a customer on it, a one-off invoice and a test clock, so each page
    shows rows, not only its empty state. Returns the invoice's id and the portal's path."""
    async with httpx.AsyncClient(base_url=web.url, headers=web.tenant.headers, timeout=60) as http:
        metric = {"name": "Calls", "code": "calls", "aggregation_type": "count_agg"}
        metric_id = (
            await _ok(http, "POST", "/api/v1/billable_metrics", {"billable_metric": metric})
        )["billable_metric"]["lago_id"]
        charge = {
            "billable_metric_id": metric_id,
            "charge_model": "standard",
            "properties": {"amount": "0.01"},
        }
        plan = {
            "name": "Starter",
            "code": "starter",
            "interval": "monthly",
            "amount_cents": 1000,
            "amount_currency": "USD",
            "charges": [charge],
        }
        await _ok(http, "POST", "/api/v1/plans", {"plan": plan})
        customer = {"external_id": "acme", "name": "Acme", "currency": "USD"}
        await _ok(http, "POST", "/api/v1/customers", {"customer": customer})
        subscription = {"external_customer_id": "acme", "plan_code": "starter", "external_id": "s1"}
        await _ok(http, "POST", "/api/v1/subscriptions", {"subscription": subscription})
        add_on = {"name": "Setup", "code": "setup", "amount_cents": 12345, "amount_currency": "USD"}
        await _ok(http, "POST", "/api/v1/add_ons", {"add_on": add_on})
        fees = [{"add_on_code": "setup", "units": 2}]
        body = {"invoice": {"external_customer_id": "acme", "currency": "USD", "fees": fees}}
        invoice = (await _ok(http, "POST", "/api/v1/invoices", body))["invoice"]
        clock = {"test_clock": {"name": "Q1 rehearsal", "frozen_time": "2030-01-01T00:00:00Z"}}
        await _ok(http, "POST", "/api/v1/test_clocks", clock)
        event = {"transaction_id": "tx_1", "external_subscription_id": "s1", "code": "calls"}
        await _ok(http, "POST", "/api/v1/events", {"event": event})
        url = (await _ok(http, "GET", "/api/v1/customers/acme/portal_url"))["customer"][
            "portal_url"
        ]
    return {"invoice": str(invoice["lago_id"]), "portal": url[url.index("/portal") :]}


# -- What the first page costs ------------------------------------------------------------


class Scripts:
    """The scripts a page fetched, with the bytes each took on the wire."""

    def __init__(self, page: Page) -> None:
        self.responses: list[Response] = []
        page.on("response", self._seen)

    def _seen(self, response: Response) -> None:
        if response.request.resource_type == "script":
            self.responses.append(response)

    async def measure(self) -> tuple[int, list[str]]:
        total, lines = 0, []
        for response in self.responses:
            await response.finished()
            size = (await response.request.sizes())["responseBodySize"]
            encoding = await response.header_value("content-encoding")
            total += size
            lines.append(f"{response.url.rsplit('/', 1)[-1]}: {size} B ({encoding or 'plain'})")
        return total, lines

    async def assert_within_budget(self, what: str, record: Path) -> int:
        total, lines = await self.measure()
        report = f"{what}: {total} B ({total / 1024:.1f} KB) of JavaScript\n  " + "\n  ".join(lines)
        record.parent.mkdir(parents=True, exist_ok=True)
        with record.open("a") as out:
            out.write(report + "\n")
        assert self.responses, f"{what}: no script was fetched"
        assert total < BUDGET, f"{what} sends over 300 KB of JavaScript: {report}"
        for response in self.responses:
            encoding = await response.header_value("content-encoding")
            assert encoding == "gzip", f"{what}: {response.url} was not sent gzipped: {report}"
        return total


async def test_the_first_page_sends_under_300_kb_of_javascript_gzipped(
    browser: Browser, page: Page, web: WebStack, steps: Steps
) -> None:
    paths = await _seed(web)
    record = steps.folder / "first-page-javascript.txt"
    record.unlink(missing_ok=True)

    # Each load is a new context: an empty cache, as for a first visit.
    sign_in_context = await browser.new_context()
    try:
        fresh = await sign_in_context.new_page()
        scripts = Scripts(fresh)
        await fresh.goto(web.url + "/")
        await expect(fresh.get_by_role("button", name="Sign in")).to_be_visible()
        await fresh.wait_for_load_state("networkidle")
        await scripts.assert_within_budget("sign-in page", record)
    finally:
        await sign_in_context.close()

    await sign_in(page, web.url, web.email)
    signed_in = await browser.new_context(storage_state=await page.context.storage_state())
    try:
        fresh = await signed_in.new_page()
        scripts = Scripts(fresh)
        await fresh.goto(web.url + "/")
        await expect(fresh.get_by_role("heading", name="Dashboard")).to_be_visible()
        await fresh.wait_for_load_state("networkidle")
        await scripts.assert_within_budget("dashboard", record)
    finally:
        await signed_in.close()

    portal_context = await browser.new_context()
    try:
        fresh = await portal_context.new_page()
        scripts = Scripts(fresh)
        await fresh.goto(web.url + paths["portal"])
        await expect(fresh.get_by_role("table", name="Invoices")).to_be_visible()
        await fresh.wait_for_load_state("networkidle")
        await scripts.assert_within_budget("portal", record)
    finally:
        await portal_context.close()


# -- Accessibility -----------------------------------------------------------------------


async def _axe(page: Page) -> dict[str, Any]:
    """axe-core's findings on the page as it is now: its violations by impact, and how
    many rules passed (so a run that checked nothing does not pass for a clean page)."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    found: dict[str, Any] = await page.evaluate(
        """async () => {
            const results = await axe.run(document);
            return {
                passes: results.passes.length,
                violations: results.violations.map(v => ({
                    id: v.id,
                    impact: v.impact,
                    help: v.help,
                    targets: v.nodes.map(n => n.target.join(" ")),
                })),
            };
        }"""
    )
    return found


def _describe(violations: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, found in violations.items():
        for v in found:
            lines.append(f"{where}: {v['id']} ({v['impact']}) {v['help']} at {v['targets']}")
    return "\n".join(lines)


async def _settled(page: Page) -> None:
    await page.wait_for_load_state("networkidle")
    await expect(page.get_by_text("Loading…")).to_have_count(0)


async def test_axe_finds_no_serious_violation_on_the_pages(
    page: Page, web: WebStack, steps: Steps
) -> None:
    paths = await _seed(web)
    assert AXE.is_file(), "axe-core is not installed: run `cd web && npm ci`"
    violations: dict[str, list[dict[str, Any]]] = {}
    lesser: dict[str, list[dict[str, Any]]] = {}

    async def check(where: str) -> None:
        await _settled(page)
        found = await _axe(page)
        assert found["passes"] > 10, f"axe-core checked next to nothing on {where}: {found}"
        violations[where] = [v for v in found["violations"] if v["impact"] in SERIOUS]
        lesser[where] = [v for v in found["violations"] if v["impact"] not in SERIOUS]
        await steps.shot(where)

    await page.goto(web.url + "/")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await check("sign-in")

    await sign_in(page, web.url, web.email)
    pages = [
        ("dashboard", "/", "Dashboard"),
        ("customers", "/customers", "Customers"),
        ("customer detail", "/customers/acme", None),
        ("plans", "/plans", "Plans"),
        ("billable metrics", "/billable_metrics", "Billable metrics"),
        ("invoices", "/invoices", "Invoices"),
        ("invoice detail", f"/invoices/{paths['invoice']}", None),
        ("subscriptions", "/subscriptions", "Subscriptions"),
        ("test clocks", "/test_clocks", "Test clocks"),
        ("webhooks", "/webhooks", "Webhooks"),
        ("events", "/events", "Events"),
        ("settings", "/settings", "Settings"),
    ]
    for where, path, heading in pages:
        await page.goto(web.url + path)
        if heading is not None:
            await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        else:
            await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await check(where)
        if where == "customers":
            await page.get_by_role("button", name="New customer").click()
            await expect(page.get_by_role("dialog", name="New customer")).to_be_visible()
            await check("customers with the new customer dialog")
            await page.keyboard.press("Escape")
        if where == "plans":
            await page.get_by_role("button", name="New plan").click()
            form = page.get_by_role("region", name="New plan")
            await expect(form).to_be_visible()
            await check("plans with the new plan form")
            await form.get_by_role("button", name="Add charge").click()
            await check("plans with a charge in the new plan form")

    await page.goto(web.url + paths["portal"])
    await expect(page.get_by_role("table", name="Invoices")).to_be_visible()
    await check("portal")

    # Moderate and minor findings are kept beside the screenshots, for the record.
    (steps.folder / "axe-lesser-findings.txt").write_text(_describe(lesser) + "\n")
    assert not any(violations.values()), (
        "axe-core found serious or critical violations:\n" + _describe(violations)
    )


# -- The keyboard alone ------------------------------------------------------------------


async def _tab_to(page: Page, target: Locator, limit: int = 60) -> None:
    """Press Tab until `target` (a locator) has the focus."""
    for _ in range(limit):
        if await target.evaluate("el => el === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{target} was not reached with {limit} presses of Tab")


async def test_a_member_creates_a_customer_with_the_keyboard_only(
    page: Page, web: WebStack, steps: Steps
) -> None:
    await sign_in(page, web.url, web.email)
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    await page.locator("body").focus()

    customers_link = page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Customers"
    )
    await _tab_to(page, customers_link)
    await expect(customers_link).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    assert page.url.endswith("/customers")

    new_customer = page.get_by_role("button", name="New customer")
    await _tab_to(page, new_customer)
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New customer")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator(":focus")).to_have_count(1)  # the focus moved inside it
    await steps.shot("new customer dialog opened with the keyboard")

    external_id = dialog.get_by_label("External ID")
    await _tab_to(page, external_id)
    await page.keyboard.type("kb-customer")
    await page.keyboard.press("Enter")
    await expect(dialog).to_have_count(0)
    await expect(page.get_by_role("heading", level=1)).to_contain_text("kb-customer")
    assert page.url.endswith("/customers/kb-customer")
    await steps.shot("customer created with the keyboard")

    # A second dialog: Escape closes it, and the focus goes back to its button.
    await page.goto(web.url + "/customers")
    await expect(page.get_by_role("table", name="Customers")).to_contain_text("kb-customer")
    await page.locator("body").focus()
    await _tab_to(page, new_customer)
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await expect(new_customer).to_be_focused()
