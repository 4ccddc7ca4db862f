"""Webhook endpoint requests.

`signature_algo` is `jwt` (RS256, the deployment's RSA key; Lago's default, taken when it
is left out) or `hmac` (the organization's secret).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")


def check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        raise ValueError("url_invalid")
    return value


def check_event_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    if any(not EVENT_TYPE.match(item) or len(item) > 64 for item in value):
        raise ValueError("value_is_invalid")
    return sorted(set(value))


WebhookUrl = Annotated[str, StringConstraints(max_length=1024), AfterValidator(check_url)]
EventType = Annotated[str, StringConstraints(max_length=255)]  # then 64, by the check
EventTypes = Annotated[list[EventType] | None, AfterValidator(check_event_types)]
SignatureAlgo = Literal["hmac", "jwt"]
Name = Annotated[str, StringConstraints(max_length=255)]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    webhook_url: WebhookUrl
    signature_algo: SignatureAlgo | None = None
    name: Name | None = None
    event_types: EventTypes = None


class WebhookEndpointCreateBody(BaseModel):
    webhook_endpoint: WebhookEndpointCreate


class WebhookEndpointUpdate(BaseModel):
    """Fields left out keep their values; event_types null means every event."""

    model_config = ConfigDict(extra="ignore")

    webhook_url: WebhookUrl | None = None
    signature_algo: SignatureAlgo | None = None
    name: Name | None = None
    event_types: EventTypes = None


class WebhookEndpointUpdateBody(BaseModel):
    webhook_endpoint: WebhookEndpointUpdate
