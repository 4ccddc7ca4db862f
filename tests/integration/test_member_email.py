"""The SMTP transport against a real SMTP server (aiosmtpd) in this process, and an
invitation mailed through it by the app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from email.message import Message

import pytest
from aiosmtpd.handlers import Message as MessageHandler
from aiosmtpd.smtp import SMTP

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.governance.email import (
    EmailUnavailableError,
    LoggingTransport,
    Mail,
    SmtpTransport,
    transport_from_settings,
)
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.members import member_app


class Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)


@pytest.fixture
async def smtp_server() -> AsyncIterator[tuple[int, Inbox]]:
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(inbox), "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    try:
        yield port, inbox
    finally:
        server.close()
        await server.wait_closed()


async def test_smtp_transport_delivers_the_mail(smtp_server: tuple[int, Inbox]) -> None:
    port, inbox = smtp_server
    transport = SmtpTransport("127.0.0.1", port, "billing@acme.test", security="none")
    await transport.send(Mail(to="ada@example.com", subject="Hello", text="Line one\nhttp://x/y"))
    [message] = inbox.messages
    assert message["From"] == "billing@acme.test"
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Hello"
    assert "http://x/y" in str(message.get_payload())


async def test_an_unreachable_server_is_reported_not_raised_raw() -> None:
    transport = SmtpTransport("127.0.0.1", 1, "bxb@localhost", security="none", timeout=2)
    with pytest.raises(EmailUnavailableError):
        await transport.send(Mail(to="a@example.com", subject="s", text="t"))


async def test_settings_choose_the_transport(settings: Settings) -> None:
    assert isinstance(transport_from_settings(settings), LoggingTransport)
    smtp = transport_from_settings(
        settings.model_copy(update={"smtp_host": "mail.test", "smtp_port": 2525})
    )
    assert isinstance(smtp, SmtpTransport)
    assert (smtp.host, smtp.port, smtp.security) == ("mail.test", 2525, "starttls")


async def test_invitation_goes_out_by_smtp_with_the_public_url(
    settings: Settings, tenant_a: Tenant, smtp_server: tuple[int, Inbox]
) -> None:
    port, inbox = smtp_server
    configured = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "smtp_from": "bxb@acme.test",
            "public_url": "https://billing.acme.test/",
        }
    )
    async for client in app_client(create_app(configured)):
        response = await client.post(
            "/api/v1/invites",
            json={"invite": {"email": "ada@example.com", "role": "support"}},
            headers=tenant_a.headers,
        )
        assert response.status_code == 200, response.text
        url = response.json()["invite"]["invite_url"]
    assert url.startswith("https://billing.acme.test/invitations/")
    [message] = inbox.messages
    assert message["To"] == "ada@example.com"
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert url in body.decode()  # decoded: quoted-printable wraps long lines


async def test_invitation_that_cannot_be_mailed_is_not_kept(
    settings: Settings, tenant_a: Tenant
) -> None:
    down = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": 1, "smtp_security": "none"}
    )
    async for client in app_client(create_app(down)):
        response = await client.post(
            "/api/v1/invites",
            json={"invite": {"email": "ada@example.com", "role": "support"}},
            headers=tenant_a.headers,
        )
        assert response.status_code == 503
        assert response.json() == {
            "status": 503,
            "error": "Service Unavailable",
            "code": "email_unavailable",
        }
        listed = await client.get("/api/v1/invites", headers=tenant_a.headers)
        assert listed.json()["invites"] == []


async def test_tls_and_login_are_required_when_configured(smtp_server: tuple[int, Inbox]) -> None:
    """A server that offers neither STARTTLS nor AUTH gets nothing in clear text."""
    port, inbox = smtp_server
    mail = Mail(to="ada@example.com", subject="s", text="secret link")
    for transport in (
        SmtpTransport("127.0.0.1", port, "bxb@localhost"),  # starttls by default
        SmtpTransport(
            "127.0.0.1", port, "bxb@localhost", username="u", password="p", security="none"
        ),
    ):
        with pytest.raises(EmailUnavailableError):
            await transport.send(mail)
    assert inbox.messages == []


async def test_the_default_transport_logs_the_mail(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bxb.governance.email")
    await LoggingTransport().send(Mail(to="ada@example.com", subject="Hi", text="the link"))
    assert "email to ada@example.com: Hi" in caplog.text
    assert "the link" in caplog.text


async def test_a_reset_mail_that_fails_is_logged_and_the_answer_is_still_202(
    settings: Settings, tenant_a: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    async for m in member_app(settings):
        await m.add_member(tenant_a, "ada@example.com", browser=m.browser())
        m.app.state.email = SmtpTransport("127.0.0.1", 1, "bxb@localhost", security="none")
        response = await m.client.post(
            "/api/v1/auth/password_resets", json={"email": "ada@example.com"}
        )
        assert response.status_code == 202
    assert "password reset mail to member" in caplog.text
