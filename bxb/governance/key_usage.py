"""A key's `last_used_at`, written cheaply: at most once a minute per key and process.

Each process remembers when it last wrote each key's time; a request with a key written
less than a minute ago writes nothing. The write itself is conditional (only when the
stored time is over a minute old), so several API processes add at most one write per
key per minute between them, whatever the traffic. It goes through a plain connection,
not the ORM, so it doesn't empty the key cache (bxb.governance.key_grants).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Table, or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import ApiKey
from bxb.models.base import utcnow

log = logging.getLogger(__name__)

LAST_USED_RESOLUTION_SECONDS = 60.0
_MAX_TRACKED = 100_000

# Replaced in tests to move time on; monotonic seconds.
clock: Callable[[], float] = time.monotonic
_written_at: dict[uuid.UUID, float] = {}


def due(key_id: uuid.UUID) -> bool:
    """Whether this request should record the key's use (cheap: a dict lookup)."""
    written = _written_at.get(key_id)
    return written is None or clock() - written >= LAST_USED_RESOLUTION_SECONDS


async def record_use(sessions: async_sessionmaker[AsyncSession], key_id: uuid.UUID) -> None:
    """Set the key's last_used_at to now unless it was set within the last minute."""
    if len(_written_at) >= _MAX_TRACKED:
        _written_at.clear()
    _written_at[key_id] = clock()
    now = utcnow()
    table = ApiKey.__table__
    assert isinstance(table, Table)
    statement = (
        update(table)
        .where(
            table.c.id == key_id,
            or_(
                table.c.last_used_at.is_(None),
                table.c.last_used_at < now - timedelta(seconds=LAST_USED_RESOLUTION_SECONDS),
            ),
        )
        # A use is not a change of the key: updated_at stays.
        .values(last_used_at=now, updated_at=table.c.updated_at)
    )
    try:
        async with sessions() as session:
            connection = await session.connection()
            await connection.execute(statement)
            await session.commit()
    except Exception:  # a bookkeeping write must never fail the request it rides on
        log.warning("could not record the use of API key %s", key_id, exc_info=True)


def forget() -> None:
    _written_at.clear()
