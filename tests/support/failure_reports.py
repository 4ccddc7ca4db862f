"""A failing test's report, even when pytest cannot format its traceback.

CPython 3.11 (before 3.11.8, gh-106905) can raise a spurious `SystemError: AST constructor
recursion depth mismatch` from `ast.parse`, which pytest calls to show each traceback
entry's source. Under pytest-xdist the worker then crashes with an internal error and the
test's own failure is lost. This plugin reports the failure with Python's plain traceback
instead. Registered from tests/conftest.py.
"""

from __future__ import annotations

import traceback
from collections.abc import Generator
from typing import Literal

import pytest

_SPURIOUS = "AST constructor recursion depth mismatch"


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    try:
        return (yield)
    except SystemError as error:
        when = call.when
        if _SPURIOUS not in str(error) or call.excinfo is None or when == "collect":
            raise
        plain = "".join(traceback.format_exception(call.excinfo.value))
        keywords: dict[str, Literal[1]] = dict.fromkeys(item.keywords, 1)
        note = f"(pytest could not format this traceback: {error}; Python's own follows)\n"
        return pytest.TestReport(
            item.nodeid,
            item.location,
            keywords,
            "failed",
            note + plain,
            when,
            [(f"Captured {key} {when}", content) for when, key, content in item._report_sections],
            call.duration,
            call.start,
            call.stop,
            user_properties=item.user_properties,
        )
