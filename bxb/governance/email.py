"""Outgoing email: an interface and its transports (SMTP, log, capture).

The members' mails (invitations, password resets) go through `EmailTransport`. The app keeps
one in `app.state.email`, chosen by settings: SMTP when BXB_SMTP_HOST is set, else a
transport that logs each mail (development; the log then holds one-time links).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from bxb.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class EmailUnavailableError(Exception):
    """The transport could not hand the mail over (server down, refused, timed out)."""


class EmailTransport(Protocol):
    async def send(self, mail: Mail) -> None:
        """Hand the mail over, or raise EmailUnavailableError."""
        ...


class LoggingTransport:
    async def send(self, mail: Mail) -> None:
        log.info("email to %s: %s\n%s", mail.to, mail.subject, mail.text)


@dataclass
class CapturingTransport:
    """Keeps every mail in `sent` (tests, and a demo without a mail server)."""

    sent: list[Mail] = field(default_factory=list)

    async def send(self, mail: Mail) -> None:
        self.sent.append(mail)


@dataclass(frozen=True)
class SmtpTransport:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    security: str = "starttls"
    timeout: float = 10.0

    async def send(self, mail: Mail) -> None:
        # smtplib blocks; one connection per mail is plenty for invitations and resets.
        await asyncio.to_thread(self._send, mail)

    def _send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        context = ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise EmailUnavailableError(str(exc)) from exc


def transport_from_settings(settings: Settings) -> EmailTransport:
    if settings.smtp_host is None:
        return LoggingTransport()
    return SmtpTransport(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        security=settings.smtp_security,
        timeout=settings.smtp_timeout,
    )
