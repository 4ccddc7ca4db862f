"""API key requests: name, role (one of the four), an optional expiry in the future."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from bxb.governance.actor import Role
from bxb.inputs.bounds import AwareInstant

KeyName = Annotated[str, StringConstraints(min_length=1, max_length=255, strip_whitespace=True)]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: KeyName
    role: Role = Role.ADMIN
    expires_at: AwareInstant | None = None


class ApiKeyCreateBody(BaseModel):
    api_key: ApiKeyCreate


class ApiKeyUpdate(BaseModel):
    """Fields left out keep their values; `expires_at: null` removes the expiry."""

    model_config = ConfigDict(extra="ignore")

    name: KeyName | None = None
    role: Role | None = None
    expires_at: AwareInstant | None = None


class ApiKeyUpdateBody(BaseModel):
    api_key: ApiKeyUpdate


class ApiKeyRotate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Until when the old key keeps working; now when left out.
    expires_old_at: AwareInstant | None = None


class ApiKeyRotateBody(BaseModel):
    api_key: ApiKeyRotate = ApiKeyRotate()
