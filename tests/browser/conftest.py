"""Browser tests: the web app served by the API, driven in the machine's Chromium.

Playwright never downloads a browser here: `browser_type_launch_args` points it at
Debian's Chromium (`make browser` installs it; `.ci/run` calls `make test`, which does).
Each test gets a whole stack: PostgreSQL, the Temporal dev server, the worker and the API
served by uvicorn on a loopback port, with the built bundle (`make web`).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.settings import Settings
from bxb.governance.actor import Role
from bxb.governance.members import create_member
from bxb.webapp import dist_directory
from tests.support.auth import Tenant
from tests.support.served_api import serving_api

PASSWORD = "plum-Orbit-92-cascade"

# Chromium's background services try the network at start; this machine has none.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium is not installed: run `make browser` (apt-get install chromium)")
    return found


# A page waits on the whole stack (PostgreSQL, Temporal, the worker) on a 2-core machine
# that `make test` also loads: five seconds, Playwright's default, is too short there.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {"executable_path": chromium_path(), "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session", autouse=True)
def _bundle_is_built() -> None:
    if not (dist_directory() / "index.html").is_file():
        pytest.fail("the web app is not built: run `make web`")


@dataclass(frozen=True)
class WebStack:
    url: str
    tenant: Tenant
    email: str
    password: str


async def add_member(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, email: str, role: Role
) -> str:
    async with sessions() as session:
        await create_member(session, tenant.organization_id, email, role, PASSWORD, name=email)
        await session.commit()
    return email


@pytest.fixture
async def web(
    temporal_settings: Settings,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[WebStack]:
    """The whole stack serving the web app; an admin member of Org A may sign in."""
    email = await add_member(sessions, tenant_a, "ada@example.com", Role.ADMIN)
    async with serving_api(temporal_settings) as url:
        yield WebStack(url, tenant_a, email, PASSWORD)


class Steps:
    """Screenshots of each step of a story, kept in the test's output folder."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.count = 0

    async def shot(self, name: str) -> None:
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        await self.page.screenshot(
            path=str(self.folder / f"{self.count:02d}-{slug}.png"), full_page=True
        )


@pytest.fixture
def steps(page: Page, output_path: str) -> Steps:
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    return Steps(page, folder)


async def sign_in(page: Page, url: str, email: str, password: str = PASSWORD) -> None:
    await page.goto(url + "/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("navigation", name="Main").wait_for()
