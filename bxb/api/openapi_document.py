"""bxb's OpenAPI document, made for client generators (served at /openapi.json).

FastAPI builds the document from the routes; `finish` then makes it one a generator can use:

- operation ids: an operation bxb shares with Lago's reference (same method and path,
  whatever its parameters are called) carries Lago's operationId; the others are the
  camelCase name of their route function (`list_webhooks` → `listWebhooks`), so ids are
  stable and readable (`operation_id`, FastAPI's generate_unique_id_function);
- 2xx answers: a shared operation is typed with Lago's response schema (kept, structure
  only, in openapi_lago.json: scripts/lago_openapi_extract.py regenerates it); a bxb
  extension answering a plain dict gets a named schema `<OperationId>Response`;
- errors: Lago's bodies (401, 403, 404, 405, 422 with error_details, 429, 400 for invalid
  JSON) replace FastAPI's HTTPValidationError;
- security: the `bearerAuth` scheme (`Authorization: Bearer <API key>`) on every route that
  takes an API key, `portalToken` on the customer portal's, so Swagger's Authorize works.

`install_openapi` wires it (and the create links of bxb.api.openapi_links) into the app.
`python -m bxb.api.openapi_dump` writes the document to docs/openapi.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from bxb.api.deps import authenticates_with_key
from bxb.api.openapi_links import add_links

_PARAMETER = re.compile(r"\{[^}]*\}")
_METHODS = ("get", "put", "post", "patch", "delete")

# bxb extensions whose function name reads badly as an id, or clashes with another's.
_OPERATION_IDS: dict[str, str] = {
    "GET /health": "getHealth",
    "GET /ready": "getReadiness",
    "GET /metrics": "getMetrics",
    "POST /api/v1/credit_notes/{}/void": "voidCreditNoteByPost",  # Lago's is the PUT
    "POST /api/v1/auth/sign_in": "signIn",
    "GET /api/v1/auth/me": "getCurrentMember",
    "GET /api/v1/dashboard/revenue": "getMonthlyRevenue",
    "GET /api/v1/dashboard/revenue/daily": "getDailyRevenue",
    "GET /api/v1/dashboard/revenue/by_plan": "getRevenueByPlan",
    "GET /api/v1/dashboard/top_customers": "getTopCustomers",
    "GET /api/v1/dashboard/overdue": "getOverdueBalances",
    "POST /api/v1/portal/subscriptions/{}/cancel": "portalCancelSubscription",
    "POST /api/v1/webhooks/stripe/{}": "receiveStripeWebhook",
}
_PORTAL = "/api/v1/portal/"

BEARER = "bearerAuth"
PORTAL = "portalToken"
SECURITY_SCHEMES: dict[str, Any] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key of the organization: `Authorization: Bearer <key>`.",
    },
    PORTAL: {
        "type": "http",
        "scheme": "bearer",
        "description": "A customer portal token (from a customer portal URL).",
    },
}


def _error(status: int, *, code: bool = True, details: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "status": {"type": "integer", "format": "int32", "const": status},
        "error": {"type": "string"},
    }
    required = ["status", "error"]
    if code:
        properties["code"] = {"type": "string"}
        required.append("code")
    if details:
        properties["error_details"] = {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "The codes of what is wrong with each field, by field name.",
        }
        required.append("error_details")
    return {"type": "object", "required": required, "properties": properties}


# Lago's error bodies (bxb.lago_objects.errors): name → (status, schema, description).
ERRORS: dict[str, tuple[int, dict[str, Any], str]] = {
    "BadRequest": (400, _error(400), "The body is not valid JSON (code invalid_json)."),
    "Unauthorized": (401, _error(401, code=False), "No valid API key."),
    "Forbidden": (403, _error(403), "The key's role may not do this (forbidden_for_role)."),
    "NotFound": (404, _error(404), "No such object in the organization (<thing>_not_found)."),
    "NotAllowed": (405, _error(405), "Not allowed in the object's state."),
    "UnprocessableEntity": (
        422,
        _error(422, details=True),
        "Invalid input (validation_errors, with error_details).",
    ),
    "TooManyRequests": (429, _error(429), "Rate limit reached; see Retry-After."),
}


@cache
def lago_reference() -> dict[str, Any]:
    """Operation ids and response schemas kept from Lago's reference (openapi_lago.json)."""
    text = files("bxb.api").joinpath("openapi_lago.json").read_text(encoding="utf-8")
    reference: dict[str, Any] = json.loads(text)
    return reference


def operation_key(method: str, path: str) -> str:
    """`GET /api/v1/customers/{}`: a method and path with their parameters unnamed."""
    return method.upper() + " " + _PARAMETER.sub("{}", path)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _route_key(route: APIRoute) -> str:
    return operation_key(sorted(route.methods or {"GET"})[0], route.path_format)


def operation_id(route: APIRoute) -> str:
    """Lago's operationId for an operation shared with Lago, else camelCase(function)."""
    key = _route_key(route)
    shared = lago_reference()["operations"].get(key)
    if shared is not None:
        return str(shared["operationId"])
    named = _OPERATION_IDS.get(key)
    if named is not None:
        return named
    name = _camel(route.name)
    if route.path_format.startswith(_PORTAL) and not name.startswith("portal"):
        return "portal" + name[:1].upper() + name[1:]  # the customer portal's own routes
    return name


def _depends_on(dependant: Dependant, name: str) -> bool:
    return any(
        getattr(d.call, "__name__", None) == name or _depends_on(d, name)
        for d in dependant.dependencies
    )


def _is_json(route: APIRoute) -> bool:
    media = getattr(route.response_class, "media_type", None)
    return media in (None, "application/json")


def _untyped(schema: dict[str, Any] | None) -> bool:
    """FastAPI's schema for a route returning a plain dict (or nothing it can describe)."""
    if schema is None:
        return True
    if "$ref" in schema or schema.get("type") == "array":
        return False
    return not schema.get("properties") and str(schema.get("title", "Response")).startswith(
        "Response"
    )


def _type_answer(
    operation: dict[str, Any], route: APIRoute, schemas: dict[str, Any], op_id: str
) -> None:
    status = str(route.status_code or 200)
    if status in ("204", "304"):
        return  # no body
    responses = operation.setdefault("responses", {})
    answer = responses.get(status) or responses.setdefault(status, {"description": "OK"})
    shared = lago_reference()["operations"].get(_route_key(route), {}).get("response")
    if shared is not None:
        media = shared["media"]
        if media == "application/json" and not _is_json(route):
            return  # bxb answers another media type (documented by the route itself)
        answer["content"] = {media: {"schema": shared["schema"]}}
        return
    content = answer.get("content", {})
    json_content = content.get("application/json")
    if not _is_json(route) or (json_content is None and content):
        return
    if json_content is not None and not _untyped(json_content.get("schema")):
        return
    name = op_id[:1].upper() + op_id[1:] + "Response"
    schemas[name] = {
        "type": "object",
        "title": name,
        "description": "A JSON object (a bxb extension, not in Lago's reference).",
        "additionalProperties": True,
    }
    answer["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _add_errors(operation: dict[str, Any], route: APIRoute, secured: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    wanted: list[str] = []
    if route.body_field is not None:
        wanted.append("BadRequest")
    if secured:
        wanted += ["Unauthorized", "Forbidden", "TooManyRequests"]
    if "{" in route.path_format:
        wanted.append("NotFound")
    if "422" in responses or route.body_field is not None or route.dependant.query_params:
        wanted.append("UnprocessableEntity")
    for name in wanted:
        status = str(ERRORS[name][0])
        responses[status] = {"$ref": f"#/components/responses/{name}"}
    operation["responses"] = dict(sorted(responses.items()))


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute of routes; FastAPI keeps included routers as nodes with theirs below."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from api_routes(original.routes)
        elif isinstance(route, APIRoute):
            yield route


def finish(schema: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """Make FastAPI's document one a client generator can use (see the module's doc)."""
    components = schema.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for name, body in lago_reference()["schemas"].items():
        schemas.setdefault(name, body)
    for name, (_, body, _) in ERRORS.items():
        schemas[f"ApiError{name}"] = body
    components["responses"] = {
        name: {
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/ApiError{name}"}}
            },
        }
        for name, (_, _, description) in ERRORS.items()
    }
    components["securitySchemes"] = SECURITY_SCHEMES
    paths: dict[str, Any] = schema.get("paths", {})
    for route in api_routes(app.router.routes):
        if not route.include_in_schema:
            continue
        item = paths.get(route.path_format, {})
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is None:
                continue
            if authenticates_with_key(route):
                operation["security"] = [{BEARER: []}]
            elif _depends_on(route.dependant, "current_portal_customer"):
                operation["security"] = [{PORTAL: []}]
            else:
                operation["security"] = []  # public, or checks its own credential
            _type_answer(operation, route, schemas, operation["operationId"])
            _add_errors(operation, route, secured=bool(operation["security"]))
    components["schemas"] = dict(sorted(schemas.items()))
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve app's finished OpenAPI document with create links (built on first request)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(finish(build(), app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
