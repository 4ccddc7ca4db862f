"""What every list filter shares: unknown filters are refused, and no filter is
unbounded (a list of values, a text), so a stored export filter stays small."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

MAX_FILTER_VALUES = 100  # values in one list filter (statuses[], countries[], ...)
MAX_METADATA_FILTERS = 20

FilterText = Annotated[str, StringConstraints(max_length=255)]


class ListFilters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
