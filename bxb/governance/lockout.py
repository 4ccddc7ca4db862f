"""Lockout with backoff after repeated failed sign-ins.

Counted per email (lower-cased), known or not, so that a locked answer says nothing about
whether the email has an account. After FREE_FAILURES consecutive failures each further
failure locks the email for FIRST_LOCK, doubling per failure up to MAX_LOCK. A success
clears the count. While locked, every attempt (even with the right password) is refused
without checking the password; the attempt itself does not extend the lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.models import SignInThrottle

FREE_FAILURES = 4  # the 5th consecutive failure locks
FIRST_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(minutes=15)


def lock_after(failures: int) -> timedelta | None:
    """How long the email is locked after its `failures`-th consecutive failure."""
    if failures <= FREE_FAILURES:
        return None
    doublings = min(failures - FREE_FAILURES - 1, 16)
    lock: timedelta = FIRST_LOCK * (2**doublings)
    return min(lock, MAX_LOCK)


async def throttle_for_update(session: AsyncSession, email: str) -> SignInThrottle:
    """The email's counter, locked until the transaction ends: concurrent attempts on one
    email are serialized, so parallel guesses can't slip past the count."""
    key = email.lower()
    await session.execute(
        insert(SignInThrottle).values(email=key, failures=0).on_conflict_do_nothing()
    )
    throttle = await session.scalar(
        select(SignInThrottle)
        .where(SignInThrottle.email == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert throttle is not None
    return throttle


def locked_for(throttle: SignInThrottle, now: datetime) -> timedelta | None:
    if throttle.locked_until is None or throttle.locked_until <= now:
        return None
    return throttle.locked_until - now


def record_failure(throttle: SignInThrottle, now: datetime) -> None:
    throttle.failures += 1
    lock = lock_after(throttle.failures)
    throttle.locked_until = now + lock if lock is not None else None


def record_success(throttle: SignInThrottle) -> None:
    throttle.failures = 0
    throttle.locked_until = None
