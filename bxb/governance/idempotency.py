"""Idempotency keys in PostgreSQL: claim, finish, release, replay, purge.

A key is claimed by inserting its row (unique on credential and key) before the request
runs, so that of two concurrent duplicates exactly one runs. The row then holds the
first answer for 24 h. A claim carries a lease: a process that crashed while running a
request leaves a row that the next retry takes over once the lease has passed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import IdempotencyKey
from bxb.models.base import utcnow

KEY_LIFETIME = timedelta(hours=24)
# Longer than any request may run (workflow updates wait at most their own timeout).
CLAIM_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID


@dataclass(frozen=True)
class Replay:
    status_code: int
    content_type: str | None
    body: bytes


class Mismatch:
    """The key was used with another request (method, path, query or body)."""


class Running:
    """The first request with this key is still running."""


ClaimResult = Claimed | Replay | Mismatch | Running


async def claim(
    sessions: async_sessionmaker[AsyncSession], credential_digest: str, key: str, fingerprint: str
) -> ClaimResult:
    async with sessions() as session:
        while True:
            now = utcnow()
            claim_id = await session.scalar(
                insert(IdempotencyKey)
                .values(
                    id=uuid.uuid4(),
                    credential_digest=credential_digest,
                    key=key,
                    fingerprint=fingerprint,
                    locked_until=now + CLAIM_LEASE,
                    created_at=now,
                    expires_at=now + KEY_LIFETIME,
                )
                .on_conflict_do_nothing(index_elements=["credential_digest", "key"])
                .returning(IdempotencyKey.id)
            )
            await session.commit()
            if claim_id is not None:
                return Claimed(claim_id)
            row = await session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.credential_digest == credential_digest,
                    IdempotencyKey.key == key,
                )
            )
            if row is None:  # released or purged meanwhile: claim again
                continue
            if row.expires_at <= now:
                await _delete(session, row.id)
                continue
            if row.fingerprint != fingerprint:
                return Mismatch()
            if row.finished_at is not None:
                return Replay(row.status_code or 200, row.content_type, row.response_body or b"")
            if row.locked_until > now:
                return Running()
            taken = await _take_over(session, row.id, now)
            if taken:
                return Claimed(row.id)


async def _take_over(session: AsyncSession, claim_id: uuid.UUID, now: datetime) -> bool:
    """A running claim whose lease has passed was left by a crash: the caller takes it."""
    taken = await session.scalar(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == claim_id,
            IdempotencyKey.finished_at.is_(None),
            IdempotencyKey.locked_until <= now,
        )
        .values(locked_until=now + CLAIM_LEASE)
        .returning(IdempotencyKey.id)
    )
    await session.commit()
    return taken is not None


async def _delete(session: AsyncSession, claim_id: uuid.UUID) -> None:
    await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claim_id))
    await session.commit()


async def finish(
    sessions: async_sessionmaker[AsyncSession],
    claimed: Claimed,
    replay: Replay,
    organization_id: uuid.UUID | None,
) -> None:
    """Keep the answer for the key's lifetime."""
    async with sessions() as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == claimed.id)
            .values(
                finished_at=utcnow(),
                status_code=replay.status_code,
                content_type=replay.content_type,
                response_body=replay.body,
                organization_id=organization_id,
            )
        )
        await session.commit()


async def release(sessions: async_sessionmaker[AsyncSession], claimed: Claimed) -> None:
    """Forget the claim (a 5xx, an error): a retry with the same key runs again."""
    async with sessions() as session:
        await _delete(session, claimed.id)


async def purge_expired_idempotency_keys(
    sessions: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> int:
    """Delete keys past their 24 h; returns how many. For the retention schedule.

    Expired keys are also replaced lazily when a request reuses one.
    """
    async with sessions() as session:
        result = await session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.expires_at <= (now or utcnow()))
            .returning(IdempotencyKey.id)
        )
        await session.commit()
        return len(result.all())
