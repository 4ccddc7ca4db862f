"""Feature and entitlement requests.

Privileges are read as plain objects and checked by bxb.entitlements.features, so that
their errors carry Lago's names (`privilege.code`, `privilege.value_type`, ...).
Entitlement values are any JSON value: their privilege's type decides (422 otherwise).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from bxb.entitlements.features import DESCRIPTION_LENGTH
from bxb.inputs.bounds import fits
from bxb.models import Feature, Privilege

FeatureCode = Annotated[str, fits(Feature.code)]
PrivilegeCode = Annotated[str, fits(Privilege.code)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_LENGTH)]


class FeatureCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: FeatureCode
    name: Annotated[str, fits(Feature.name)] | None = None
    description: Description | None = None
    privileges: list[dict[str, Any]] | None = None


class FeatureUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Annotated[str, fits(Feature.name)] | None = None
    description: Description | None = None
    privileges: list[dict[str, Any]] | None = None


class FeatureCreateBody(BaseModel):
    feature: FeatureCreate


class FeatureUpdateBody(BaseModel):
    feature: FeatureUpdate


class EntitlementsBody(BaseModel):
    """{"entitlements": {"<feature code>": {"<privilege code>": value, ...}, ...}}"""

    model_config = ConfigDict(extra="ignore")

    entitlements: dict[FeatureCode, dict[PrivilegeCode, Any] | None] = {}
