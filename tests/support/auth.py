"""Helpers for authenticated calls in tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Tenant:
    """An organization created for a test, with its plaintext API key."""

    organization_id: uuid.UUID
    name: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}
