"""OpenAPI links: how the object a create answers with names the routes that take it.

By Lago's conventions, `POST /api/v1/customers` answers `{"customer": {...}}`, and the
routes under `/api/v1/customers/{external_customer_id}` take that customer's
`external_id`. Each create gets a link to every route below its path, so clients (and
stateful fuzzing) can follow a resource from its creation.
"""

from __future__ import annotations

from typing import Any

# A path parameter named after a field of another name in Lago's objects.
_FIELD_OF_PARAMETER = {"external_customer_id": "external_id"}
_METHODS = ("get", "put", "post", "delete", "patch")


def _root_key(collection: str) -> str:
    """Lago's root key for one object of a collection: taxes → tax, plans → plan."""
    return collection[:-2] if collection.endswith("xes") else collection.removesuffix("s")


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    for collection_path, item in paths.items():
        create = item.get("post")
        if create is None or "{" in collection_path:
            continue
        root = _root_key(collection_path.rsplit("/", 1)[1])
        prefix = collection_path + "/{"
        links: dict[str, Any] = {}
        for path, operations in paths.items():
            if not path.startswith(prefix):
                continue
            parameter = path[len(prefix) : path.index("}", len(prefix))]
            field = _FIELD_OF_PARAMETER.get(parameter, parameter)
            for method in _METHODS:
                operation = operations.get(method)
                if operation is None or "operationId" not in operation:
                    continue
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {parameter: f"$response.body#/{root}/{field}"},
                }
        answer = create.get("responses", {}).get("200")
        if links and answer is not None:
            answer["links"] = links
    return schema
