"""Validate answers against the response schemas of Lago's OpenAPI document."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml  # type: ignore[import-untyped]

SPEC = Path("/work/shared/reference/lago-openapi.yaml")


@cache
def _components() -> dict[str, Any]:
    if not SPEC.exists():  # pragma: no cover - the reference sits beside the checkout
        pytest.skip("Lago's OpenAPI document is not on this machine")
    document: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    components: dict[str, Any] = document["components"]
    return components


def lago_errors(schema_name: str, answer: Any) -> list[str]:
    """The ways `answer` breaks Lago's schema `schema_name` (empty: it conforms)."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": _components()}
    validator = jsonschema_rs.Draft202012Validator(schema)
    return [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(answer)]
