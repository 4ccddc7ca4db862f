"""What a bearer key grants (organization, key, role, expiry), cached per process.

Event ingestion authenticates every request; a database round trip per event would cost
more than storing it. Live keys are cached per process for a short time: a key changed
through this process's ORM (revoked, rotated, role changed) is forgotten at once (listener
below); one changed by another process stops working here within the TTL. Expiry is
checked on every request against the cached instant, so an expired key never needs a
round trip to be refused.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session

from bxb.governance.actor import Actor, Role
from bxb.models import ApiKey, Organization

API_KEY_CACHE_TTL_SECONDS = 1.0
API_KEY_CACHE_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class KeyGrant:
    actor: Actor
    # Wall-clock seconds since the epoch; None: the key never expires.
    expires_at: float | None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now


_live_keys: dict[str, tuple[KeyGrant, float]] = {}
_lookups: dict[str, asyncio.Future[KeyGrant | None]] = {}


async def key_grant(sessions: async_sessionmaker[AsyncSession], digest: str) -> KeyGrant | None:
    """The grant of the live (unrevoked) key with this SHA-256 digest, or None."""
    cached = _live_keys.get(digest)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    # One lookup per key at a time: concurrent requests with an expired entry share it.
    lookup = _lookups.get(digest)
    if lookup is None:
        lookup = asyncio.ensure_future(_lookup_key(sessions, digest))
        _lookups[digest] = lookup
        lookup.add_done_callback(lambda _: _lookups.pop(digest, None))
    return await asyncio.shield(lookup)


async def _lookup_key(sessions: async_sessionmaker[AsyncSession], digest: str) -> KeyGrant | None:
    async with sessions() as session:
        row = (
            await session.execute(
                select(
                    ApiKey.id, ApiKey.organization_id, ApiKey.role, ApiKey.name, ApiKey.expires_at
                ).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
            )
        ).first()
    if row is None:
        _live_keys.pop(digest, None)
        return None
    key_id, organization_id, role, name, expires_at = row
    actor = Actor(organization_id, Role(role), "api_key", id=key_id, label=name)
    grant = KeyGrant(actor, None if expires_at is None else expires_at.timestamp())
    if len(_live_keys) >= API_KEY_CACHE_MAX_ENTRIES:
        _live_keys.clear()
    _live_keys[digest] = (grant, time.monotonic() + API_KEY_CACHE_TTL_SECONDS)
    return grant


def forget_api_keys() -> None:
    _live_keys.clear()
    _lookups.clear()  # a lookup in flight may have read the key before its change


@event.listens_for(Session, "do_orm_execute")
def _forget_keys_on_change(state: ORMExecuteState) -> None:
    """Any ORM update or delete of keys or organizations empties the cache."""
    if not (state.is_update or state.is_delete):
        return
    if any(mapper.class_ in (ApiKey, Organization) for mapper in state.all_mappers):
        forget_api_keys()


@event.listens_for(Session, "after_flush")
def _forget_keys_on_flush(session: Session, _context: object) -> None:
    """Keys changed as objects (e.g. a key's role set and flushed) are forgotten too."""
    if any(isinstance(obj, ApiKey) for obj in (*session.dirty, *session.deleted)):
        forget_api_keys()
