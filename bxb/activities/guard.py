"""What bxb's activities do around their work, in one place.

- `heartbeats`: the activity heartbeats while it works, so an attempt held by a worker
  that died is retried on another one within the heartbeat timeout the workflow sets
  (seconds), instead of after the whole start-to-close timeout.
- `fails_fast`: heartbeats, and an error that no retry can fix is raised as a
  non-retryable ApplicationError of type INVALID_INPUT, so that the workflow fails the
  command that asked (and restores its state) instead of retrying forever. Such errors are
  the data errors of PostgreSQL (SQLSTATE class 22: NUL in text, a value too long for its
  column, numeric overflow, a date out of range, ...) and the same kinds of errors raised
  in Python (ValueError, ArithmeticError). Everything else (connections, timeouts, locks,
  serialization failures) stays retryable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar, cast

from temporalio.exceptions import ApplicationError

from bxb.activities.heartbeat import heartbeating
from bxb.workflows.billing_requests import INVALID_INPUT

F = TypeVar("F", bound=Callable[..., Coroutine[Any, Any, Any]])
DATA_EXCEPTION_CLASS = "22"  # SQLSTATE class "data exception"


def heartbeats(fn: F) -> F:
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await heartbeating(fn(*args, **kwargs))

    return cast(F, run)


def fails_fast(fn: F) -> F:
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await heartbeating(fn(*args, **kwargs))
        except ApplicationError:
            raise  # already decided (a declined payment, ...)
        except Exception as exc:
            if not is_permanent(exc):
                raise
            raise ApplicationError(_describe(exc), type=INVALID_INPUT, non_retryable=True) from exc

    return cast(F, run)


def is_permanent(exc: BaseException) -> bool:
    """Would retrying fail the same way whatever happens meanwhile?"""
    for error in _chain(exc):
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate:
            return sqlstate.startswith(DATA_EXCEPTION_CLASS)
    return isinstance(exc, ValueError | ArithmeticError)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error, the driver's error it wraps (SQLAlchemy's .orig), and their causes."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop(0)
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        pending += [getattr(error, "orig", None), error.__cause__]


def _describe(exc: BaseException) -> str:
    """The database's own message when there is one (SQLAlchemy's adds the statement and
    its parameters, which are no one's business), else the error's."""
    messages = [str(e).strip() for e in _chain(exc) if getattr(e, "sqlstate", None)]
    text = (messages[-1] if messages else str(exc).strip()) or type(exc).__name__
    return text.splitlines()[0]
