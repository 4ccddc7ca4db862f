"""Regenerate bxb/api/openapi_lago.json from Lago's OpenAPI reference (a development step).

    python scripts/lago_openapi_extract.py ../shared/reference/lago-openapi.yaml

bxb's OpenAPI document (bxb.api.openapi_document) names an operation it shares with Lago
(same method and path, whatever the parameters are called) by Lago's operationId, and types
its 2xx answer with Lago's response schema. The reference is not shipped: this script keeps
what the document needs — operation ids and the structure of the response schemas (types,
properties, required, enums, formats), without descriptions or examples — in a static file.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

OUT = Path(__file__).resolve().parent.parent / "bxb" / "api" / "openapi_lago.json"
# Keys of a schema object that carry structure; the rest (description, example, ...) is prose.
STRUCTURE = {
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "format",
    "nullable",
    "allOf",
    "oneOf",
    "anyOf",
    "additionalProperties",
    "$ref",
    "const",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "discriminator",
    "prefixItems",
    "not",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "uniqueItems",
}
REF = re.compile(r"#/components/schemas/(.+)")
PARAMETER = re.compile(r"\{[^}]*\}")


def operation_key(method: str, path: str) -> str:
    """`GET /customers/{}`: the method and the path with its parameters unnamed."""
    return method.upper() + " " + PARAMETER.sub("{}", path)


def structure(schema: Any) -> Any:
    if isinstance(schema, list):
        return [structure(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kept: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in STRUCTURE:
            continue
        if key == "properties":
            kept[key] = {name: structure(sub) for name, sub in value.items()}
        else:
            kept[key] = structure(value)
    return kept


def refs(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and (match := REF.fullmatch(value)):
                found.add(match.group(1))
            else:
                found |= refs(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= refs(item)
    return found


def extract(reference_path: Path) -> dict[str, Any]:
    """What openapi_lago.json keeps of the reference at reference_path."""
    reference = yaml.safe_load(reference_path.read_text())
    components = reference["components"]
    operations: dict[str, Any] = {}
    wanted: set[str] = set()
    for path, item in reference["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            entry: dict[str, Any] = {"operationId": operation["operationId"]}
            for status, answer in sorted(operation.get("responses", {}).items()):
                if not str(status).startswith("2"):
                    continue
                if "$ref" in answer:
                    answer = components["responses"][answer["$ref"].rsplit("/", 1)[1]]
                content = answer.get("content", {})
                media = next(iter(content), None)
                if media is None:
                    continue
                schema = structure(content[media].get("schema", {}))
                entry["response"] = {"status": str(status), "media": media, "schema": schema}
                wanted |= refs(schema)
                break
            operations[operation_key(method, "/api/v1" + path)] = entry
    schemas: dict[str, Any] = {}
    while wanted:
        name = wanted.pop()
        if name in schemas:
            continue
        schemas[name] = structure(components["schemas"][name])
        wanted |= refs(schemas[name]) - schemas.keys()
    return {
        "source": f"{reference['info']['title']} {reference['info']['version']}",
        "operations": dict(sorted(operations.items())),
        "schemas": dict(sorted(schemas.items())),
    }


def main(reference_path: str) -> None:
    document = extract(Path(reference_path))
    OUT.write_text(json.dumps(document, indent=1) + "\n")
    counts = f"{len(document['operations'])} operations, {len(document['schemas'])} schemas"
    sys.stdout.write(f"{counts} → {OUT}\n")


if __name__ == "__main__":
    main(sys.argv[1])
