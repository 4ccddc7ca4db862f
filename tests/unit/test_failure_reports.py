"""tests/support/failure_reports.py: a spurious SystemError while formatting a failure
(CPython 3.11, gh-106905) still reports the failure, with Python's own traceback."""

from __future__ import annotations

import pytest

from tests.support.failure_reports import pytest_runtest_makereport


def _failed_call() -> pytest.CallInfo[None]:
    def fails() -> None:
        assert 1 + 1 == 3, "the arithmetic is off"

    return pytest.CallInfo.from_call(fails, when="call")


def _report_after(item: pytest.Item, error: BaseException) -> pytest.TestReport:
    hook = pytest_runtest_makereport(item, _failed_call())
    next(hook)
    with pytest.raises(StopIteration) as stop:
        hook.throw(error)
    report: pytest.TestReport = stop.value.value
    return report


def test_the_failure_is_reported_with_the_plain_traceback(request: pytest.FixtureRequest) -> None:
    spurious = SystemError("AST constructor recursion depth mismatch (before=150, after=202)")
    report = _report_after(request.node, spurious)
    assert (report.nodeid, report.when, report.outcome) == (request.node.nodeid, "call", "failed")
    text = report.longreprtext
    assert "AssertionError: the arithmetic is off" in text
    assert "in fails" in text  # the traceback, by Python
    assert "could not format this traceback" in text


def test_other_system_errors_are_not_hidden(request: pytest.FixtureRequest) -> None:
    hook = pytest_runtest_makereport(request.node, _failed_call())
    next(hook)
    with pytest.raises(SystemError, match="something else"):
        hook.throw(SystemError("something else"))
