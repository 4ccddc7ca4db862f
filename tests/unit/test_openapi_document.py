"""bxb's OpenAPI document is one a client generator can use, and docs/openapi.json is it."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from bxb.api.openapi_document import lago_reference, operation_key
from bxb.api.openapi_dump import DEFAULT_PATH, document, render

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path("/work/shared/reference/lago-openapi.yaml")
METHODS = ("get", "put", "post", "patch", "delete")
REGENERATE = "python -m bxb.api.openapi_dump"


@cache
def _document() -> dict[str, Any]:
    return document()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, item[method])
        for path, item in _document()["paths"].items()
        for method in METHODS
        if method in item
    ]


@cache
def _reference() -> dict[str, Any]:
    if not REFERENCE.exists():  # pragma: no cover - the reference sits beside the checkout
        pytest.skip("Lago's OpenAPI document is not on this machine")
    reference: dict[str, Any] = yaml.safe_load(REFERENCE.read_text())
    return reference


def test_docs_openapi_json_is_the_served_document() -> None:
    written = (ROOT / DEFAULT_PATH).read_text(encoding="utf-8")
    assert written == render(_document()), (
        f"docs/openapi.json is out of date: regenerate it with `{REGENERATE}`"
    )


def test_operation_ids_are_unique_and_lagos_where_shared() -> None:
    ids = Counter(operation["operationId"] for _, _, operation in _operations())
    assert [name for name, count in ids.items() if count > 1] == []
    lago = {
        operation_key(method, "/api/v1" + path): operation["operationId"]
        for path, item in _reference()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }
    shared = {
        operation_key(method, path): operation["operationId"]
        for method, path, operation in _operations()
        if operation_key(method, path) in lago
    }
    assert len(shared) >= 150
    assert shared == {key: lago[key] for key in shared}
    for name in ids:  # the others: camelCase, a verb first
        assert name[:1].islower(), name
        assert "_" not in name, name


def test_the_kept_lago_schemas_match_the_reference() -> None:
    spec = importlib.util.spec_from_file_location(
        "lago_openapi_extract", ROOT / "scripts" / "lago_openapi_extract.py"
    )
    assert spec is not None
    assert spec.loader is not None
    extract = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extract)
    _reference()  # skips without it
    assert extract.extract(REFERENCE) == lago_reference(), (
        "bxb/api/openapi_lago.json is out of date: run "
        f"`python scripts/lago_openapi_extract.py {REFERENCE}`, then `{REGENERATE}`"
    )


def test_every_answer_is_typed_with_a_named_or_lago_schema() -> None:
    schemas = _document()["components"]["schemas"]
    for method, path, operation in _operations():
        ok = [status for status in operation["responses"] if status.startswith("2")]
        assert len(ok) == 1, (method, path)
        if ok == ["204"]:
            continue
        content = operation["responses"][ok[0]]["content"]
        for media, body in content.items():
            schema = body["schema"]
            if media != "application/json":
                continue
            refs = [schema] if "$ref" in schema else schema.get("oneOf", [])
            if refs:
                for ref in refs:
                    assert ref["$ref"].rsplit("/", 1)[1] in schemas, (method, path)
            else:
                assert schema.get("properties"), (method, path, schema)


def test_errors_are_lagos_bodies() -> None:
    doc = _document()
    text = json.dumps(doc)
    assert "HTTPValidationError" not in text
    assert "ValidationError" not in doc["components"]["schemas"]
    unprocessable = doc["components"]["schemas"]["ApiErrorUnprocessableEntity"]
    assert unprocessable["required"] == ["status", "error", "code", "error_details"]
    wanted = {
        "401": "Unauthorized",
        "403": "Forbidden",
        "404": "NotFound",
        "422": "UnprocessableEntity",
        "429": "TooManyRequests",
    }
    for method, path, operation in _operations():
        responses = operation["responses"]
        for status, name in wanted.items():
            if status in responses:
                assert responses[status] == {"$ref": f"#/components/responses/{name}"}
        if operation["security"]:
            assert {"401", "429"} <= responses.keys(), (method, path)
        if "{" in path and path.startswith("/api/v1/") and operation["security"]:
            assert "404" in responses, (method, path)
    customers = doc["paths"]["/api/v1/customers"]["post"]["responses"]
    assert {"400", "401", "403", "422", "429"} <= customers.keys()


def test_the_bearer_key_scheme_is_declared_and_applied() -> None:
    doc = _document()
    assert doc["components"]["securitySchemes"]["bearerAuth"]["type"] == "http"
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    by_path = {(method, path): operation for method, path, operation in _operations()}
    assert by_path[("post", "/api/v1/customers")]["security"] == [{"bearerAuth": []}]
    assert by_path[("get", "/api/v1/portal/invoices")]["security"] == [{"portalToken": []}]
    assert by_path[("get", "/health")]["security"] == []
    secured = [op for _, path, op in _operations() if op["security"] == [{"bearerAuth": []}]]
    assert len(secured) > 150


def test_the_dump_command_writes_the_document(tmp_path: Path) -> None:
    from bxb.api.openapi_dump import main

    target = tmp_path / "openapi.json"
    main([str(target)])
    assert json.loads(target.read_text()) == json.loads(render(_document()))
