"""What a failed PostgreSQL call of the event store means: the store's typed errors.

Ingestion answers 503 when PostgreSQL cannot write now (whatever the rows) and 422 when
it refuses the values; anything else is a bug and stays as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager

import asyncpg

from bxb.events.store import EventsRefusedError, EventStoreUnavailableError, failures_classified

# SQLSTATE classes that say the server cannot write now, whatever the rows: connection
# exception, insufficient resources (disk full, too many connections), operator
# intervention (shutting down, starting up), system error (I/O).
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
_READ_ONLY_TRANSACTION = "25006"  # a standby: e.g. during a failover
_DATA_EXCEPTION_CLASS = "22"  # the values: bad encoding, out of range, invalid text...


def classify_failure(exc: Exception) -> Exception | None:
    """The typed error a failed PostgreSQL call means, or None if it means neither.

    Looks through the wrappers (SQLAlchemy's, its asyncpg adapter's) to asyncpg's error.
    """
    for cause in _causes(exc):
        if isinstance(cause, asyncpg.PostgresError):
            state = cause.sqlstate or ""
            if state[:2] in _UNAVAILABLE_CLASSES or state == _READ_ONLY_TRANSACTION:
                return EventStoreUnavailableError(f"PostgreSQL: {cause}")
            if state[:2] == _DATA_EXCEPTION_CLASS:
                return EventsRefusedError(f"PostgreSQL: {cause}")
            return None
        # Refused or lost connections, connect timeouts, a closed connection.
        if isinstance(cause, OSError | TimeoutError | asyncpg.InterfaceError):
            return EventStoreUnavailableError(f"PostgreSQL: {cause!r}")
    return None


def postgres_failures() -> AbstractContextManager[None]:
    """Around PostgreSQL calls of ingestion: their failures as the store's typed errors."""
    return failures_classified(classify_failure)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError
        current = orig if isinstance(orig, BaseException) else current.__cause__
