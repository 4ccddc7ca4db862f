"""Errors in Lago's shapes, and the handlers that make every failure one of them.

401 {"status", "error"}; 404/405/403 add a "code"; 422 adds "error_details". Nothing
escapes as a bare 500 page: `unexpected_error` turns any other exception into a 503 when
PostgreSQL or Temporal cannot be reached, else {"status":500,...}, logged with the request
id. The request middleware answers with it (see bxb.api.middleware), so the connection
stays usable.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from bxb.api.responses import JsonResponse
from bxb.core.temporal import TemporalUnavailable

# Lago's error body and its common cases sit below the API (member sessions raise them
# too); re-exported here, where routers import them from.
from bxb.lago_objects.errors import ApiError as ApiError
from bxb.lago_objects.errors import not_found as not_found
from bxb.lago_objects.errors import unauthorized as unauthorized
from bxb.lago_objects.errors import validation_error as validation_error

log = logging.getLogger(__name__)


def _json(error: ApiError, headers: Mapping[str, str] | None = None) -> JsonResponse:
    return JsonResponse(error.body(), status_code=error.status, headers=headers)


_PYDANTIC_CODES = {
    "missing": "value_is_mandatory",
    "string_type": "invalid_type",
    "int_type": "invalid_type",
    "int_parsing": "invalid_type",
    "float_type": "invalid_type",
    "float_parsing": "invalid_type",
    "bool_type": "invalid_type",
    "bool_parsing": "invalid_type",
    "dict_type": "invalid_type",
    "list_type": "invalid_type",
    "model_type": "invalid_type",
    "enum": "value_is_invalid",
    "literal_error": "value_is_invalid",
    "string_too_long": "value_is_too_long",
    "string_too_short": "value_is_invalid",
    "extra_forbidden": "unknown_field",
}


def field_path(parts: Sequence[int | str]) -> str:
    """Lago names fields by their path inside the root object: customer.metadata.0.value →
    metadata.0.value; a root key alone names itself, nothing names the request ("base")."""
    if len(parts) > 1:
        parts = parts[1:]  # drop the root key ("customer", "plan", ...)
    return ".".join(str(part) for part in parts) or "base"


def _field_name(loc: Sequence[int | str]) -> str:
    return field_path([p for p in loc if p not in ("body", "query", "path", "header")])


def details_from_validation(errors: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    details: dict[str, list[str]] = {}
    for err in errors:
        code = _PYDANTIC_CODES.get(str(err.get("type")), "value_is_invalid")
        if err.get("type") == "value_error":
            code = str(err.get("ctx", {}).get("error", code))
        details.setdefault(_field_name(err.get("loc", ())), []).append(code)
    return details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def on_api_error(_: Request, exc: ApiError) -> JsonResponse:
        return _json(exc, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_: Request, exc: RequestValidationError) -> JsonResponse:
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            return _json(ApiError(400, error="Bad Request", code="invalid_json"))
        return _json(validation_error(details_from_validation(errors)))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_: Request, exc: StarletteHTTPException) -> JsonResponse:
        code = {404: "route_not_found", 405: "not_allowed", 413: "payload_too_large"}.get(
            exc.status_code
        )
        return _json(ApiError(exc.status_code, code=code), headers=exc.headers)

    @app.exception_handler(TemporalUnavailable)
    async def on_temporal_unavailable(_: Request, exc: TemporalUnavailable) -> JsonResponse:
        error = ApiError(503, code=exc.code, error_details={exc.field: [exc.reason]})
        return _json(error, headers={"Retry-After": "1"})


# PostgreSQL cannot be reached, or dropped the connection (shut down, restarting, crashed).
_DATABASE_DOWN: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
)
_UNREACHABLE = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT})


def unavailable_service(exc: BaseException) -> str | None:
    """ "database" or "temporal" when exc (or what caused it) says that service is out of
    reach, else None. One place for the connection-error families of both drivers."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TemporalUnavailable) or (
            isinstance(current, RPCError) and current.status == RPCStatusCode.UNAVAILABLE
        ):
            return "temporal"
        if isinstance(current, _DATABASE_DOWN) or (
            isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated
        ):
            return "database"
        if isinstance(current, ConnectionError) or (
            isinstance(current, OSError) and current.errno in _UNREACHABLE
        ):
            return "database"  # the drivers' sockets; Temporal's client raises RPCError
        orig = getattr(current, "orig", None)  # SQLAlchemy wraps the driver's error
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )
    return None


def unexpected_error(exc: BaseException, method: str, path: str) -> ApiError:
    """The answer to an exception no handler took: 503 when a service is down, else 500.

    Both are logged with the request id; a 503 without a traceback (it is not a bug)."""
    service = unavailable_service(exc)
    if service is None:
        log.error("unhandled error on %s %s", method, path, exc_info=exc)
        return ApiError(500)
    log.warning("%s unavailable on %s %s: %r", service, method, path, exc)
    return ApiError(503, code=f"{service}_unavailable")
