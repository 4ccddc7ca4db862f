"""What a store driver's error means: the store is unavailable, the values were refused,
or neither (then it is left as it is)."""

from __future__ import annotations

import asyncpg
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import OperationalError as SAOperationalError

from bxb.events import clickhouse_store, postgres_failures
from bxb.events.store import (
    EventsRefusedError,
    EventStoreUnavailableError,
    failures_classified,
    may_be_the_events_fault,
)

UNAVAILABLE = EventStoreUnavailableError
REFUSED = EventsRefusedError


def wrapped(error: Exception) -> Exception:
    """As SQLAlchemy raises it (the metric lookup goes through its engine)."""
    try:
        raise SAOperationalError("SELECT ...", {}, error) from error
    except DBAPIError as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "meaning"),
    [
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), UNAVAILABLE),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting"), UNAVAILABLE),
        (asyncpg.exceptions.DiskFullError("could not extend file"), UNAVAILABLE),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), UNAVAILABLE),
        (asyncpg.exceptions.ReadOnlySQLTransactionError("read-only transaction"), UNAVAILABLE),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), UNAVAILABLE),
        (asyncpg.exceptions.InterfaceError("connection is closed"), UNAVAILABLE),
        (ConnectionRefusedError(111, "Connection refused"), UNAVAILABLE),
        (TimeoutError(), UNAVAILABLE),
        (wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")), UNAVAILABLE),
        (wrapped(ConnectionRefusedError(111, "Connection refused")), UNAVAILABLE),
        (asyncpg.exceptions.UntranslatableCharacterError("\\u0000"), REFUSED),
        (asyncpg.exceptions.CharacterNotInRepertoireError("0x00"), REFUSED),
        (asyncpg.exceptions.NumericValueOutOfRangeError("numeric overflow"), REFUSED),
        (asyncpg.exceptions.DataError("invalid input for query argument $2"), REFUSED),
        (wrapped(asyncpg.exceptions.InvalidTextRepresentationError("bad json")), REFUSED),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), None),
        (asyncpg.exceptions.DeadlockDetectedError("deadlock detected"), None),
        (RuntimeError("a bug"), None),
    ],
)
def test_postgres_failures(error: Exception, meaning: type[Exception] | None) -> None:
    classified = postgres_failures.classify_failure(error)
    assert type(classified) is meaning if meaning else classified is None


@pytest.mark.parametrize(
    ("error", "meaning"),
    [
        (OperationalError("HTTPDriver: connection refused"), UNAVAILABLE),
        (ConnectionResetError(), UNAVAILABLE),
        (DataError("bad value"), REFUSED),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), REFUSED),
        (DatabaseError("Unable to cast Python instance of type <class 'str'>"), REFUSED),
        (DatabaseError("Code: 241. DB::Exception: Memory limit exceeded"), None),
    ],
)
def test_clickhouse_failures(error: Exception, meaning: type[Exception] | None) -> None:
    classified = clickhouse_store.classify_failure(error)
    assert type(classified) is meaning if meaning else classified is None


def test_typed_failures_keep_their_cause_and_others_pass_through() -> None:
    refused = asyncpg.exceptions.UntranslatableCharacterError("\\u0000")
    with pytest.raises(EventsRefusedError) as raised, postgres_failures.postgres_failures():
        raise refused
    assert raised.value.__cause__ is refused
    with pytest.raises(KeyError), failures_classified(lambda _: None):
        raise KeyError("untouched")


def test_only_an_unavailable_store_stops_the_division() -> None:
    assert not may_be_the_events_fault(EventStoreUnavailableError("down"))
    assert may_be_the_events_fault(EventsRefusedError("NUL"))
    assert may_be_the_events_fault(RuntimeError("unknown"))
