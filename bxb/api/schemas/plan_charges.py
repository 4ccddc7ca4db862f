"""Request bodies of the charge and charge-filter routes of a plan."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bxb.api.schemas.plans import ChargeIn, DisplayName, FilterValue


class ChargeRouteIn(ChargeIn):
    cascade_updates: bool | None = None


class ChargeBody(BaseModel):
    charge: ChargeRouteIn


class CascadeOnly(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cascade_updates: bool | None = None


class ChargeDeleteBody(BaseModel):
    charge: CascadeOnly = Field(default_factory=CascadeOnly)


class FilterRouteIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    invoice_display_name: DisplayName | None = None
    properties: dict[str, Any] | None = None
    values: dict[FilterValue, list[FilterValue]] | None = None
    cascade_updates: bool | None = None


class FilterBody(BaseModel):
    filter: FilterRouteIn


class FilterDeleteBody(BaseModel):
    filter: CascadeOnly = Field(default_factory=CascadeOnly)
