"""Every operation of Lago's reference, called on one seeded organization, its answer
validated against the response schema the reference declares (JSON Schema 2020-12, `$ref`s
resolved). The table (tests/conformance/table.py) is the seed: its first entries create what
the later ones read, change and delete."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conformance.database_steps import mark_overdue
from tests.conformance.differences import DIFFERENCES
from tests.conformance.table import (
    AWAITING_MERGE,
    CALLS,
    DATABASE,
    DEFAULT_PARAMS,
    NOT_SUPPORTED,
    SEED,
    Call,
)
from tests.support.auth import Tenant
from tests.support.lago_schema import operation_violations, operations

NAME = re.compile(r"^\{(\w+)\}$")


def test_every_operation_of_the_reference_is_in_the_table() -> None:
    tabled = {call.op for call in CALLS if not call.op.startswith(SEED)}
    reference = set(operations())
    assert tabled - reference == set(), "entries for operations the reference lacks"
    assert not (set(NOT_SUPPORTED) & tabled), "an operation both called and refused"
    assert reference - tabled - set(NOT_SUPPORTED) == set(), "operations left out"
    assert tabled >= AWAITING_MERGE
    assert all(reason.strip() for reason in NOT_SUPPORTED.values())
    for call in CALLS:  # every expected status is one the reference declares, or an error
        if call.op.startswith(SEED):
            continue
        declared = operations()[call.op][2]["responses"]
        assert str(call.status) in declared or call.status >= 400, call


def resolve(value: Any, saved: dict[str, Any]) -> Any:
    if isinstance(value, str):
        match = NAME.match(value)
        return saved[match.group(1)] if match else value
    if isinstance(value, dict):
        return {k: resolve(v, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, saved) for v in value]
    return value


def dig(answer: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        answer = answer[int(part)] if isinstance(answer, list) else answer[part]
    return answer


def request_of(call: Call, saved: dict[str, Any]) -> tuple[str, str]:
    if call.op.startswith(SEED):
        method, template = call.op.split()[1:]
    else:
        method, template, _ = operations()[call.op]
    params = {**DEFAULT_PARAMS, **call.params}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)  # a seed step's path names saved values directly
        return str(resolve(params.get(name, f"{{{name}}}"), saved))

    return method, re.sub(r"\{(\w+)\}", value, template)


async def in_database(
    sessions: async_sessionmaker[AsyncSession], step: str, params: dict[str, Any]
) -> None:
    """The seed's steps written in the database (table.in_database)."""
    if step == "mark_overdue":
        await mark_overdue(sessions, params["lago_id"])
    else:
        raise AssertionError(f"no database step {step!r}")


def unexplained(call: Call, answer: Any, used: set[str]) -> list[str]:
    """The schema errors of `answer` that no named difference of Lago's server explains
    (the names of the differences that explained some are added to `used`)."""
    left = []
    for name, difference in DIFFERENCES.items():
        if difference.root_key and call.op in (difference.operations or ()):
            used.add(name)
            answer = answer[difference.root_key]
    for path, message in operation_violations(call.op, call.status, answer):
        names = [n for n, d in DIFFERENCES.items() if d.explains(call.op, path, message)]
        used.update(names)
        if not names:
            left.append(f"{path}: {message[:300]}")
    return left


async def test_every_answer_has_lagos_shape(
    temporal_client: httpx.AsyncClient,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    saved: dict[str, Any] = {}
    failures: list[str] = []
    used: set[str] = set()
    awaited = {name for call in CALLS if call.op in AWAITING_MERGE for name in call.save}
    for call in CALLS:
        if call.op in AWAITING_MERGE:
            continue
        try:
            if call.op.startswith(SEED + DATABASE):
                step = call.op.removeprefix(SEED + DATABASE)
                await in_database(sessions, step, resolve(call.params, saved))
                continue
            method, path = request_of(call, saved)
            body = resolve(call.body, saved)
            query = resolve(call.query, saved)
        except KeyError as missing:
            if missing.args[0] not in awaited:
                failures.append(f"{call.op}: nothing saved as {missing} before it")
            continue
        response = await temporal_client.request(
            method, path, json=body, params=query, headers=tenant_a.headers
        )
        label = f"{call.op} {method} {path}"
        if response.status_code != call.status:
            failures.append(f"{label}: {response.status_code} {response.text[:300]}")
            continue
        json = "json" in response.headers.get("content-type", "")
        answer = response.json() if json else response.text
        if not call.op.startswith(SEED):
            failures.extend(f"{label}: {error}" for error in unexplained(call, answer, used)[:8])
        for name, dotted in call.save.items():
            saved[name] = dig(answer, dotted)
        for dotted, value in resolve(call.expect, saved).items():
            if dig(answer, dotted) != value:
                failures.append(f"{label}: {dotted} is {dig(answer, dotted)!r}, not {value!r}")
    failures.extend(f"difference {name} explains nothing" for name in set(DIFFERENCES) - used)
    assert failures == [], "\n".join(failures)
    if AWAITING_MERGE:
        pytest.skip(f"{len(AWAITING_MERGE)} operations await their helpers' merge")


def test_every_named_difference_is_documented() -> None:
    text = (Path(__file__).parents[2] / "docs" / "lago_differences.md").read_text()
    assert [name for name in DIFFERENCES if f"`{name}`" not in text] == []
