"""Which activity errors no retry can fix (bxb.activities.guard), and what they become."""

from __future__ import annotations

import decimal

import pytest
from temporalio.exceptions import ApplicationError

from bxb.activities.guard import fails_fast, is_permanent
from bxb.workflows.billing_requests import INVALID_INPUT


class DriverError(Exception):
    """Stands for the database driver's error: it carries the SQLSTATE."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class WrapperError(Exception):
    """Stands for SQLAlchemy's DBAPIError: the driver's error is `.orig`."""

    def __init__(self, orig: Exception) -> None:
        super().__init__(f"(driver) {orig} [SQL: INSERT ...]")
        self.orig = orig


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (
            WrapperError(DriverError('invalid byte sequence for encoding "UTF8": 0x00', "22021")),
            True,
        ),
        (
            WrapperError(DriverError("value too long for type character varying(255)", "22001")),
            True,
        ),
        (WrapperError(DriverError("numeric field overflow", "22003")), True),
        (WrapperError(DriverError("ledger is read-only", "P0001")), False),
        (WrapperError(DriverError("could not serialize access", "40001")), False),
        (WrapperError(DriverError("connection lost", "08006")), False),
        (ValueError("year 0 is out of range"), True),
        (OverflowError("date value out of range"), True),
        (decimal.InvalidOperation(), True),
        (ConnectionRefusedError(), False),
        (TimeoutError(), False),
        (RuntimeError("something else"), False),
    ],
)
def test_what_no_retry_can_fix(error: Exception, permanent: bool) -> None:
    assert is_permanent(error) is permanent


async def test_a_permanent_error_becomes_a_non_retryable_application_error() -> None:
    @fails_fast
    async def record() -> None:
        raise WrapperError(DriverError("value too long for type character varying(255)", "22001"))

    with pytest.raises(ApplicationError) as raised:
        await record()
    assert raised.value.type == INVALID_INPUT
    assert raised.value.non_retryable
    assert raised.value.message == "value too long for type character varying(255)"


async def test_other_errors_pass_through_for_temporal_to_retry() -> None:
    @fails_fast
    async def record() -> None:
        raise ConnectionResetError("reset")

    with pytest.raises(ConnectionResetError):
        await record()
