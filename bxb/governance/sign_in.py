"""Signing in with email and password, and resetting a forgotten password.

Neither says whether an email has an account: a wrong password and an unknown email get
the same answer after the same work (an argon2 verification), count toward the same
lockout, and a reset request is always accepted (the mail goes out only to members).
"""

from __future__ import annotations

import logging
import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.governance import lockout
from bxb.governance.email import EmailTransport, EmailUnavailableError, Mail
from bxb.governance.members import end_sessions
from bxb.governance.passwords import hash_password, verify_password, weak_password
from bxb.governance.tokens import digest, new_token
from bxb.lago_objects.errors import ApiError, not_found, validation_error
from bxb.models import Member, PasswordReset

log = logging.getLogger(__name__)


def incorrect_credentials() -> ApiError:
    return validation_error({"base": ["incorrect_login_or_password"]})


def locked() -> ApiError:
    return ApiError(429, code="too_many_sign_in_attempts", error="Too Many Requests")


class SignInRefusedError(Exception):
    def __init__(self, error: ApiError, retry_after: int | None = None) -> None:
        super().__init__(error.code)
        self.error = error
        self.retry_after = retry_after  # seconds, for the Retry-After header


async def sign_in(
    session: AsyncSession,
    email: str,
    password: str,
    organization_id: uuid.UUID | None,
    *,
    now: datetime,
) -> Member:
    """The member these credentials belong to, or SignInRefusedError. Commits the attempt's
    count (a failure must be counted even though the request fails)."""
    throttle = await lockout.throttle_for_update(session, email)
    wait = lockout.locked_for(throttle, now)
    if wait is not None:
        await session.commit()
        raise SignInRefusedError(locked(), math.ceil(wait.total_seconds()))
    query = select(Member).where(
        func.lower(Member.email) == email.lower(), Member.status == "active"
    )
    if organization_id is not None:
        query = query.where(Member.organization_id == organization_id)
    candidates = list((await session.scalars(query.order_by(Member.created_at))).all())
    matched = [m for m in candidates if await verify_password(m.password_hash, password)]
    if not candidates:
        await verify_password(None, password)  # the same work as a wrong password
    if not matched:
        lockout.record_failure(throttle, now)
        await session.commit()
        raise SignInRefusedError(incorrect_credentials())
    lockout.record_success(throttle)
    if len(matched) > 1:
        # The right password for several organizations: the caller says which one.
        await session.commit()
        raise SignInRefusedError(validation_error({"organization_id": ["value_is_mandatory"]}))
    return matched[0]


def reset_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/password_resets/{token}"


async def request_password_reset(
    sessions: async_sessionmaker[AsyncSession],
    transport: EmailTransport,
    email: str,
    organization_id: uuid.UUID | None,
    *,
    now: datetime,
    ttl: timedelta,
    public_url: str,
) -> int:
    """Mail a one-time reset link to each active member with this email (in the given
    organization, or in all); returns how many. Runs after the answer has gone out."""
    sent = 0
    async with sessions() as session:
        query = select(Member).where(
            func.lower(Member.email) == email.lower(), Member.status == "active"
        )
        if organization_id is not None:
            query = query.where(Member.organization_id == organization_id)
        for member in (await session.scalars(query)).all():
            token, token_hash = new_token()
            session.add(
                PasswordReset(
                    organization_id=member.organization_id,
                    member_id=member.id,
                    token_hash=token_hash,
                    expires_at=now + ttl,
                )
            )
            await session.commit()
            mail = Mail(
                to=member.email,
                subject=f"Reset your password for {member.organization.name} on bxb",
                text=(
                    "Someone asked to reset the password of your bxb account.\n\n"
                    f"Choose a new password here (valid for {_duration(ttl)}, once):\n"
                    f"{reset_url(public_url, token)}\n\n"
                    "If it wasn't you, ignore this mail: your password stays as it is.\n"
                ),
            )
            try:
                await transport.send(mail)
                sent += 1
            except EmailUnavailableError:
                log.warning("password reset mail to member %s not sent", member.id, exc_info=True)
    return sent


async def reset_password(
    session: AsyncSession, token: str, password: str, *, now: datetime
) -> Member:
    """Set the new password, spend the token (and every other open reset of the member),
    end all the member's sessions and clear its lockout."""
    reset = await session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == digest(token)).with_for_update()
    )
    if reset is None:
        raise not_found("password_reset")
    if reset.used_at is not None:
        raise validation_error({"token": ["password_reset_already_used"]})
    if reset.expires_at <= now:
        raise validation_error({"token": ["password_reset_expired"]})
    member = await session.get(Member, reset.member_id)
    if member is None or member.status != "active":
        raise not_found("password_reset")
    inputs = [member.email, member.name or "", member.organization.name]
    problem = await weak_password(password, inputs)
    if problem is not None:
        raise validation_error({"password": [problem]})
    member.password_hash = await hash_password(password)
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.member_id == member.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    await end_sessions(session, member.id, now=now)
    lockout.record_success(await lockout.throttle_for_update(session, member.email))
    await session.flush()
    return member


def _duration(ttl: timedelta) -> str:
    minutes = int(ttl.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} day(s)"
    return f"{minutes // 60} hour(s)" if minutes % 60 == 0 else f"{minutes} minute(s)"
