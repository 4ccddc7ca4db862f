"""Checking list filters (bxb.listings) at the API: failures are Lago's 422."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from bxb.api.errors import details_from_validation, validation_error
from bxb.listings.base import ListFilters

F = TypeVar("F", bound=ListFilters)


def parse_filters(model: type[F], values: Mapping[str, Any], *, root: tuple[str, ...] = ()) -> F:
    """model from values (None values left out, so defaults apply), or 422 with each bad
    field named under root (e.g. ("data_export", "filters") → "filters.currency")."""
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        errors = [{**err, "loc": (*(root or ("query",)), *err["loc"])} for err in exc.errors()]
        raise validation_error(details_from_validation(errors)) from None
