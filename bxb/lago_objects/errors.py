"""Lago's error body as an exception: raised by routes and the services below them, turned
into a response by bxb.api.errors' handlers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any


class ApiError(Exception):
    """Raise from a route to answer with Lago's error body."""

    def __init__(
        self,
        status: int,
        *,
        code: str | None = None,
        error_details: Mapping[str, Any] | None = None,
        error: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code or status)
        self.status = status
        self.code = code
        self.error_details = error_details
        self.error = error or HTTPStatus(status).phrase
        self.headers = headers  # e.g. a 429's Retry-After

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "error": self.error}
        if self.code is not None:
            body["code"] = self.code
        if self.error_details is not None:
            body["error_details"] = dict(self.error_details)
        return body


def not_found(resource: str) -> ApiError:
    """404 with Lago's code, e.g. not_found("customer") → customer_not_found."""
    return ApiError(404, code=f"{resource}_not_found")


def validation_error(details: Mapping[str, Sequence[str]]) -> ApiError:
    return ApiError(
        422,
        code="validation_errors",
        error="Unprocessable Entity",
        error_details={key: list(value) for key, value in details.items()},
    )


def unauthorized() -> ApiError:
    return ApiError(401, error="Unauthorized")
