"""Every request field is bounded by what the ledger can store and compute.

Walks the validation schema of every route's body and query parameters, as pydantic
enforces it, down to each string, number and date:

- a string in a body has a maximum length, no longer than any VARCHAR column of the same
  name (the column it lands in, conservatively), unless WIDER_COLUMN says where it lands;
- an integer is bounded, within BIGINT, and within INTEGER when a column of its name is;
- a decimal is bounded (digits, or a range);
- a date or instant goes through bxb.inputs.bounds' range check;
- no floats.

A new field without a bound fails here, before it can wedge a workflow or answer a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import BigInteger, Integer, Numeric, String

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.inputs.bounds import INSTANT_CHECKS, MAX_BIGINT, MAX_INT
from bxb.models import Base

# Fields whose name matches a narrower column elsewhere, and the column they land in.
WIDER_COLUMN: dict[str, str] = {}

# Validators that accept only bounded values, and why (by qualified name).
BOUNDED_BY_CHECK = {
    "check_currency": "ISO 4217 codes: 3 letters",
    "check_country": "ISO 3166 codes: 2 letters",
    "check_timezone": "IANA zone names, the longest 32 characters (VARCHAR(64))",
    "check_metadata": "credit note metadata: keys up to 100, values up to 255 (JSONB)",
    "check_rate": "tax rates: 0 to 100, five decimals (NUMERIC(10, 5))",
    "check_rate_decimals": "coupon rates: five decimals; above 100 the core refuses",
    "_check_units": "one-off units: up to 10^12",
}


@dataclass(frozen=True)
class Leaf:
    route: str
    place: str  # body | query
    path: tuple[str, ...]
    schema: dict[str, Any]
    checks: tuple[Any, ...]  # the validator functions on the way to it

    @property
    def name(self) -> str:
        named = [part for part in self.path if part != "*"]
        return named[-1]

    def __str__(self) -> str:
        return f"{self.route} {self.place} {'.'.join(self.path)}"


def _walk(
    schema: dict[str, Any],
    path: tuple[str, ...],
    defs: dict[str, Any],
    checks: tuple[Any, ...],
    refs: frozenset[str],
) -> Iterator[tuple[tuple[str, ...], dict[str, Any], tuple[Any, ...]]]:
    kind = schema["type"]
    if "ref" in schema:
        defs = {**defs, schema["ref"]: schema}
    if kind == "definitions":
        defs = {**defs, **{d["ref"]: d for d in schema["definitions"]}}
        yield from _walk(schema["schema"], path, defs, checks, refs)
    elif kind == "definition-ref":
        ref = schema["schema_ref"]
        if ref not in refs:  # recursive models: each model once per path
            yield from _walk(defs[ref], path, defs, checks, refs | {ref})
    elif kind in ("model", "nullable", "default"):
        yield from _walk(schema["schema"], path, defs, checks, refs)
    elif kind == "model-fields":
        for name, field in schema["fields"].items():
            alias = field.get("validation_alias")
            key = alias if isinstance(alias, str) else name
            yield from _walk(field["schema"], (*path, key), defs, checks, refs)
    elif kind in ("function-after", "function-before", "function-wrap"):
        check = schema["function"]["function"]
        yield from _walk(schema["schema"], path, defs, (*checks, check), refs)
    elif kind in ("list", "set", "frozenset"):
        items = schema.get("items_schema", {"type": "any"})
        yield from _walk(items, (*path, "*"), defs, checks, refs)
    elif kind == "dict":
        values = schema.get("values_schema", {"type": "any"})
        if values["type"] == "any":  # a JSON document (properties): bounded at the boundary
            yield path, schema, checks
            return
        for part in (schema.get("keys_schema", {"type": "any"}), values):
            yield from _walk(part, (*path, "*"), defs, checks, refs)
    elif kind == "union":
        for choice in schema["choices"]:
            sub = choice[0] if isinstance(choice, tuple) else choice
            yield from _walk(sub, path, defs, checks, refs)
    elif kind == "tagged-union":
        for sub in schema["choices"].values():
            yield from _walk(sub, path, defs, checks, refs)
    elif kind == "chain":
        for step in schema["steps"]:
            yield from _walk(step, path, defs, checks, refs)
    elif kind == "lax-or-strict":
        yield from _walk(schema["lax_schema"], path, defs, checks, refs)
    elif kind == "json-or-python":
        yield from _walk(schema["json_schema"], path, defs, checks, refs)
    else:
        yield path, schema, checks


def request_leaves(app: FastAPI) -> list[Leaf]:
    leaves = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        name = f"{sorted(route.methods or ['GET'])[0]} {route.path}"
        fields = [("body", route.body_field)] if route.body_field is not None else []
        fields += [
            ("query", field)
            for field in get_flat_params(route.dependant)
            if isinstance(field.field_info, params.Query)
        ]
        for place, field in fields:
            core = dict(field._type_adapter.core_schema)
            for path, schema, checks in _walk(core, (field.alias,), {}, (), frozenset()):
                leaves.append(Leaf(name, place, path, schema, checks))
    return leaves


def _columns() -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            found.setdefault(column.name, []).append(column)
    return found


COLUMNS = _columns()
APP = create_app(Settings(database_url="postgresql+asyncpg://unused@127.0.0.1/unused"))
LEAVES = request_leaves(APP)


def _string_limit(leaf: Leaf) -> int | None:
    target = WIDER_COLUMN.get(leaf.name)
    columns = [c for c in COLUMNS.get(leaf.name, []) if target is None or str(c) == target]
    lengths = [c.type.length for c in columns if isinstance(c.type, String) and c.type.length]
    return min(lengths) if lengths else None


def problem(leaf: Leaf) -> str | None:
    schema, kind = leaf.schema, leaf.schema["type"]
    if any(getattr(check, "__name__", None) in BOUNDED_BY_CHECK for check in leaf.checks):
        return None
    if kind == "float":
        return "a float: money and rates are integers or decimals"
    if kind in ("datetime", "date"):
        return None if INSTANT_CHECKS & set(leaf.checks) else "a date without the range check"
    if kind == "int":
        low, high = schema.get("ge", schema.get("gt")), schema.get("le", schema.get("lt"))
        if low is None or high is None or low < -MAX_BIGINT or high > MAX_BIGINT:
            return f"an integer not bounded within BIGINT ({low}..{high})"
        narrow = [c for c in COLUMNS.get(leaf.name, []) if type(c.type) is Integer]
        if narrow and (high > MAX_INT or low < -MAX_INT):
            return f"an integer for INTEGER column(s) {narrow} bounded only by {low}..{high}"
        return None
    if kind == "decimal":
        bounded = "max_digits" in schema or ("le" in schema or "lt" in schema)
        return None if bounded else "a decimal without max_digits or a range"
    if kind == "str" and leaf.place == "body":
        limit = _string_limit(leaf)
        if "max_length" not in schema:
            return f"a string without max_length (column limit {limit})"
        if limit is not None and schema["max_length"] > limit:
            return f"max_length {schema['max_length']} > its column's {limit}"
    return None


def test_the_walk_sees_every_kind_of_field() -> None:
    kinds = {leaf.schema["type"] for leaf in LEAVES}
    assert {"str", "int", "decimal", "datetime", "date"} <= kinds
    assert len({leaf.route for leaf in LEAVES}) > 40
    assert any(type(c.type) is BigInteger for cs in COLUMNS.values() for c in cs)
    assert any(isinstance(c.type, Numeric) for cs in COLUMNS.values() for c in cs)


@pytest.mark.parametrize("leaf", LEAVES, ids=str)
def test_every_request_field_is_bounded(leaf: Leaf) -> None:
    assert problem(leaf) is None, problem(leaf)
