"""Signing in to the web app, and the page it serves at every address."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import Steps, WebStack, sign_in


async def test_a_member_signs_in_and_out(page: Page, web: WebStack, steps: Steps) -> None:
    await page.goto(web.url + "/customers")
    await page.get_by_label("Email").fill(web.email)
    await page.get_by_label("Password").fill("not-the-password-1")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Email or password is not right.")
    await steps.shot("wrong password")

    await sign_in(page, web.url, web.email)
    await expect(page.get_by_text(f"{web.email} (admin)")).to_be_visible()
    await steps.shot("signed in")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    # The session is over on the server too, not only on the screen.
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with httpx.AsyncClient(base_url=web.url, cookies=cookies) as http:
        assert (await http.get("/api/v1/auth/me")).status_code == 401


async def test_the_app_is_served_at_every_page_address_and_the_api_stays_the_api(
    web: WebStack,
) -> None:
    async with httpx.AsyncClient(base_url=web.url) as http:
        for path in ("/", "/customers", "/invoices/abc", "/portal", "/test_clocks"):
            page = await http.get(path)
            assert page.status_code == 200, path
            assert page.headers["cache-control"] == "no-cache"
            assert '<div id="root">' in page.text
        # An unknown API address stays Lago's 404, whatever the method.
        for method in ("GET", "POST"):
            missing = await http.request(method, "/api/v1/nothing_here")
            assert missing.status_code == 404
            assert missing.json()["code"] == "route_not_found"
        assert (await http.get("/docs")).status_code == 200
        asset = page.text.split('src="')[1].split('"')[0]
        served = await http.get(asset)
        assert served.status_code == 200
        assert "immutable" in served.headers["cache-control"]
