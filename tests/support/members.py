"""An app whose mails are captured and whose clock the test moves, and member helpers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from fastapi import FastAPI

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.governance.email import CapturingTransport, Mail
from bxb.models.base import utcnow
from tests.conftest import app_client
from tests.support.auth import Tenant

STRONG_PASSWORD = "plum-Orbit-92-cascade"
OTHER_STRONG_PASSWORD = "velvet-Quarry-17-lantern"


class Clock:
    """What the app reads as now (`app.state.clock`); starts at the real now."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class MemberApp:
    app: FastAPI
    client: httpx.AsyncClient
    mails: CapturingTransport
    clock: Clock
    browsers: list[httpx.AsyncClient] = field(default_factory=list)

    def browser(self) -> httpx.AsyncClient:
        """Another client on the same app, with its own cookie jar (another browser);
        closed with the app."""
        transport = httpx.ASGITransport(app=self.app)
        client = httpx.AsyncClient(transport=transport, base_url="http://bxb.test")
        self.browsers.append(client)
        return client

    def last_link_token(self, kind: str) -> str:
        """The token of the last mailed link of `kind` ("invitations", "password_resets")."""
        for mail in reversed(self.mails.sent):
            found = re.search(rf"/{kind}/(\S+)", mail.text)
            if found:
                return found.group(1)
        raise AssertionError(f"no {kind} link was mailed")

    async def invite(self, tenant: Tenant, email: str, role: str = "admin") -> str:
        """Invite `email` with the organization's key; the token of the mailed link."""
        response = await self.client.post(
            "/api/v1/invites",
            json={"invite": {"email": email, "role": role}},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
        return self.last_link_token("invitations")

    async def add_member(
        self,
        tenant: Tenant,
        email: str,
        role: str = "admin",
        password: str = STRONG_PASSWORD,
        browser: httpx.AsyncClient | None = None,
    ) -> dict[str, object]:
        """Invite and accept; `browser` (default: self.client) ends up signed in as them."""
        token = await self.invite(tenant, email, role)
        response = await (browser or self.client).post(
            f"/api/v1/invitations/{token}/accept",
            json={"member": {"name": email.split("@")[0], "password": password}},
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


def mail_to(mails: list[Mail], address: str) -> list[Mail]:
    return [m for m in mails if m.to == address]


async def member_app(settings: Settings) -> AsyncIterator[MemberApp]:
    app = create_app(settings)
    mails = CapturingTransport()
    clock = Clock()
    app.state.email = mails
    app.state.clock = clock
    async for client in app_client(app):
        member_app = MemberApp(app, client, mails, clock)
        try:
            yield member_app
        finally:
            for browser in member_app.browsers:
                await browser.aclose()
