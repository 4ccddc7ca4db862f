"""Validate answers against the response schemas of Lago's OpenAPI document."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml  # type: ignore[import-untyped]

SPEC = Path("/work/shared/reference/lago-openapi.yaml")
METHODS = ("get", "post", "put", "patch", "delete")
LAGO_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["status", "error", "code"],
    "properties": {
        "status": {"type": "integer"},
        "error": {"type": "string"},
        "code": {"type": "string"},
    },
}


@cache
def _document() -> dict[str, Any]:
    if not SPEC.exists():  # pragma: no cover - the reference sits beside the checkout
        pytest.skip("Lago's OpenAPI document is not on this machine")
    document: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return document


def _components() -> dict[str, Any]:
    components: dict[str, Any] = _document()["components"]
    return components


def lago_errors(schema_name: str, answer: Any) -> list[str]:
    """The ways `answer` breaks Lago's schema `schema_name` (empty: it conforms)."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": _components()}
    return _errors(schema, answer)


def _errors(schema: dict[str, Any], answer: Any) -> list[str]:
    validator = jsonschema_rs.Draft202012Validator(schema)
    return [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(answer)]


@cache
def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Every operation of the reference: operationId -> (METHOD, /api/v1 path, operation)."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in _document()["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                found[operation["operationId"]] = (method.upper(), f"/api/v1{path}", operation)
    return found


def response_schema(operation_id: str, status: int) -> dict[str, Any] | None:
    """The JSON schema the reference declares for `operation_id`'s answer with `status`
    (None: the reference declares no JSON body for it)."""
    _, _, operation = operations()[operation_id]
    response = operation["responses"].get(str(status))
    if response is None and status >= 400:
        return LAGO_ERROR  # a refusal the reference does not list: Lago's error body
    if response is None:
        raise KeyError(f"{operation_id} declares no {status} answer")
    if "$ref" in response:
        response = _components()["responses"][response["$ref"].rsplit("/", 1)[-1]]
    content = response.get("content", {}).get("application/json")
    if content is None or "schema" not in content:
        return None
    schema: dict[str, Any] = content["schema"]
    return schema


def operation_errors(operation_id: str, status: int, answer: Any) -> list[str]:
    """The ways `answer` breaks the schema that the reference declares for `operation_id`'s
    answer with `status` (empty: it conforms, or the reference declares no JSON body)."""
    return [
        f"{path}: {message}" for path, message in operation_violations(operation_id, status, answer)
    ]


def operation_violations(
    operation_id: str, status: int, answer: Any
) -> list[tuple[list[str | int], str]]:
    """`operation_errors` as (path in the answer, message) pairs."""
    schema = response_schema(operation_id, status)
    if schema is None:
        return []
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": _components()})
    return [(list(e.instance_path), e.message) for e in validator.iter_errors(answer)]
