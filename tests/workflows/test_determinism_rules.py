"""Workflow code stays deterministic.

The worker runs workflows without Temporal's sandbox (a sandbox per run, one run per
billing period, cost more than the billing), so nothing at run time stops a workflow from
reading the wall clock or the network. This test does instead, over every module in
bxb/workflows/ and bxb/billing/, together with the replay test of recorded histories.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "bxb"
CHECKED = sorted([*(ROOT / "workflows").glob("*.py"), *(ROOT / "billing").glob("*.py")])

# Calls that differ between an execution and its replay.
FORBIDDEN_CALLS = {
    "datetime.now",
    "datetime.utcnow",
    "datetime.today",
    "date.today",
    "time.time",
    "time.monotonic",
    "time.perf_counter",
    "time.sleep",
    "asyncio.sleep",
    "uuid.uuid1",
    "uuid.uuid4",
    "os.environ.get",
    "os.getenv",
    "open",
}
FORBIDDEN_IMPORTS = {
    "random",
    "secrets",
    "socket",
    "httpx",
    "sqlalchemy",
    "asyncpg",
    "stripe",
    "clickhouse_connect",
    "requests",
    "threading",
    "subprocess",
}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def violations(source: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _dotted(node.func) in FORBIDDEN_CALLS:
            found.append((node.lineno, f"{_dotted(node.func)}()"))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            found += [
                (node.lineno, f"import {name}")
                for name in names
                if name.split(".")[0] in FORBIDDEN_IMPORTS
            ]
    return [f"line {line}: {what}" for line, what in sorted(found)]


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_module_is_deterministic(path: Path) -> None:
    assert violations(path.read_text()) == []


def test_the_rule_catches_what_it_should() -> None:
    bad = (
        "import random\nfrom datetime import datetime\nx = datetime.now()\nimport sqlalchemy.orm\n"
    )
    assert violations(bad) == [
        "line 1: import random",
        "line 3: datetime.now()",
        "line 4: import sqlalchemy.orm",
    ]
